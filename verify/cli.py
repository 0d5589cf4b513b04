"""`verify`: check the paper's claims from a shell and print verdicts.

Exit status: 0 when every check ran (whatever the verdicts), 2 for bad input
(one line on stderr, no traceback), 1 when the toolkit itself failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import NoReturn

from theory.claims import CLAIMS, claims_for
from theory.errors import VerifyError
from theory.mixture import DEFAULT_PRESET, PRESET_ALIASES, PRESETS, load_mixture
from verify import figure_cli
from verify.asymptotics_report import asymptotic_rows, expansion_report, plot_gaps, print_asymptotics, print_expansion
from verify.report import build_report, print_claim_list, print_report
from verify.run import run_checks


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise VerifyError(message)


def _parse_ns(text: str) -> list[int]:
    ns = []
    for part in text.split(","):
        part = part.strip()
        try:
            value = int(part)
        except ValueError:
            raise VerifyError(f"--n: {part!r} is not an integer (expected e.g. --n 1,10,50)") from None
        if value < 1:
            raise VerifyError(f"--n: context length must be >= 1, got {value}")
        ns.append(value)
    return ns


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="verify", description="Check the claims of 'Provable Benefits of Task-Specific Prompts "
                                           "for In-context Learning' (AISTATS 2025) and print verdicts.")
    sel = p.add_mutually_exclusive_group()
    sel.add_argument("--theorem", type=int, metavar="N", help="claims of Theorem N (1-4)")
    sel.add_argument("--lemma", type=int, metavar="N", help="claims of Lemma N (1-4)")
    sel.add_argument("--proposition", type=int, metavar="N", help="claims of Proposition N (1)")
    sel.add_argument("--corollary", type=int, metavar="N", help="claims of Corollary N (1)")
    sel.add_argument("--claim", metavar="ID", help="one claim by id (see --list)")
    sel.add_argument("--all", action="store_true", help="every registered claim")
    sel.add_argument("--list", action="store_true", help="list the claim ids and statements")
    sel.add_argument("--expand", metavar="QUANTITY", help="print the expansion in 1/n of one quantity: "
                     "PT, FT, JT, PGD, PT-FT, FT-JT, JT-PGD, ratio, nWbar-I.PT, nWbar-I.JT, P.FT, P.JT")
    p.add_argument("--mixture", default=DEFAULT_PRESET, metavar="PRESET|FILE",
                   help=f"mixture shown in the table (default {DEFAULT_PRESET}; presets: "
                        f"{', '.join(PRESETS + tuple(PRESET_ALIASES))}; or a .json/.toml file)")
    p.add_argument("--n", default="1,10,100", metavar="N1,N2,...", help="context lengths for the table (default 1,10,100)")
    p.add_argument("--seed", type=int, default=0, help="seed for generated mixtures and minimiser starts (default 0)")
    p.add_argument("--json", metavar="FILE", help="write the machine-readable report here")
    speed = p.add_mutually_exclusive_group()
    speed.add_argument("--quick", action="store_true", help="small search and budgets (default)")
    speed.add_argument("--full", action="store_true", help="larger search (more n values)")
    p.add_argument("--no-symbolic", action="store_true", help="skip the symbolic (sympy) decisions")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--order", type=int, default=3, metavar="K", help="with --expand: terms through n^-K (default 3)")
    p.add_argument("--latex", action="store_true", help="print expansions as LaTeX")
    figure_cli.add_figure_arguments(p)  # issue 6: --figure/--figures/--plot/--report
    return p


def _selection(args: argparse.Namespace) -> list:
    if args.list:
        return []
    for kind in ("theorem", "lemma", "proposition", "corollary"):
        value = getattr(args, kind)
        if value is not None:
            return claims_for(f"{kind} {value}")
    if args.claim is not None:
        if args.claim not in CLAIMS:
            raise VerifyError(f"--claim: unknown claim id {args.claim!r}; run `verify --list` for the ids")
        return [CLAIMS[args.claim]]
    if args.all:
        return list(CLAIMS.values())
    raise VerifyError("nothing selected: give one of --theorem N, --lemma N, --proposition 1, --corollary 1, "
                      "--claim ID, --all or --list")


def _expand(args: argparse.Namespace) -> int:
    """``verify --expand QUANTITY --order K [--mixture M] [--latex] [--json FILE] [--plot DIR]``."""
    if not 0 <= args.order <= 8:
        raise VerifyError(f"--order: must be from 0 to 8, got {args.order}")
    mixture = load_mixture(args.mixture)
    report = expansion_report(args.expand, args.order, mixture, args.mixture)
    print_expansion(report, args.latex)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
    if args.plot:
        for path in plot_gaps(mixture, args.mixture, Path(args.plot)):
            print(f"gap plot: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        # issue 6: figures and the HTML report (verify/figure_cli.py)
        figure_cli.validate(args)
        if figure_cli.figures_only(args):
            figure_cli.run_figures(args)
            return 0
        if args.expand is not None:
            return _expand(args)
        claims = _selection(args)
        if args.list:
            print_claim_list()
            return 0
        mixture = load_mixture(args.mixture)
        ns = _parse_ns(args.n)
        if args.json:
            out = Path(args.json)
            if out.parent and not out.parent.exists():
                raise VerifyError(f"--json: directory {str(out.parent)!r} does not exist")
        start = time.perf_counter()
        verdicts = run_checks(claims, mixture, ns, seed=args.seed, full=args.full,
                              symbolic=not args.no_symbolic, progress=not args.no_progress, training=not args.no_training,
                              mixture_name=args.mixture)
        report = build_report(verdicts, mixture, args.mixture, ns, args.seed, time.perf_counter() - start)
        print_report(report)
        if any(c.id.startswith(("C1.", "S4.")) for c in claims):  # Corollary 1 and Section 4: the expansions
            report["asymptotics"] = asymptotic_rows(mixture, args.mixture, {v["id"]: v["verdict"] for v in report["claims"]},
                                                    latex=args.latex, symbolic=not args.no_symbolic)
            print_asymptotics(report["asymptotics"])
            if args.plot and not figure_cli.wants_figures(args):
                for path in plot_gaps(mixture, args.mixture, Path(args.plot)):
                    print(f"gap plot: {path}")
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")
        figure_cli.after_checks(args, report)  # issue 6: figures and --report DIR
        return 0
    except VerifyError as exc:
        print(f"verify: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("verify: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
