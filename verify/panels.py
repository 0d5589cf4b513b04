"""The panels of the paper's figures: which mixture, which training settings, which n grid, which budgets.

Figure 2 (Section 6), Figure A1 (Appendix D) and Figure A2 (Appendix E) plot
the test loss, normalised by E[y^2], against the context length n for several
training settings. This module only describes the panels; :mod:`verify.figures`
computes them and :mod:`verify.plotting` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

from theory.errors import VerifyError

# The training settings a curve can show (keys used everywhere in verify.figures, the CSV and the JSON).
STRATEGY_LABELS: dict[str, str] = {
    "PT": "plain training: W (Thm 1)",
    "FT": "fine-tuning: P on W*_PT (Thm 2)",
    "JT": "joint training: W, P (Thm 3)",
    "PGD": "debiased PGD, eq. (19): L~*_PGD (Thm 4)",
    "HEADS": "attention with prompts, heads: W, P, H (eq. 18), achievable",
}


@dataclass(frozen=True)
class PanelSpec:
    """One panel: the preset mixture, the settings plotted, the attention depth, and what the paper says it shows."""

    id: str
    figure: str
    preset: str
    strategies: tuple[str, ...]
    layers: int
    caption: str


@dataclass(frozen=True)
class Budget:
    """How much work one figure run does: the n grid, Monte Carlo precision, and training effort (stated on each plot)."""

    name: str
    ns: tuple[int, ...]
    mc_target_rel_se: float
    mc_min_samples: int
    mc_max_samples: int
    train_quick: bool
    train_ns: tuple[int, ...]

    def describe(self) -> str:
        train = "training: quick budget" if self.train_quick else "training: paper protocol (20k Adam steps, batch 8192, 50 restarts)"
        return (f"{self.name}: n in {{{', '.join(map(str, self.ns))}}}; Monte Carlo to rel. s.e. {self.mc_target_rel_se:g} "
                f"(>= {self.mc_min_samples} samples); {train} at n in {{{', '.join(map(str, self.train_ns))}}}")


_PT_FT_JT = ("PT", "FT", "JT")
_HEADS = ("PT", "JT", "PGD", "HEADS")

PANELS: dict[str, PanelSpec] = {p.id: p for p in [
    PanelSpec("2a", "Figure 2(a)", "fig2a", _PT_FT_JT, 1,
              "Assumption 1 check, non-zero task means: mu = (1.7, -1.3) 1_10, Sigma_beta = I, pi = (0.3, 0.7), sigma^2 = 0"),
    PanelSpec("2b", "Figure 2(b)", "fig2b", _PT_FT_JT, 1,
              "zero task means: Sigma_beta = I and 2I, pi = (0.5, 0.5), sigma^2 = 0 (PT = FT = JT, eq. 16)"),
    PanelSpec("2c", "Figure 2(c)", "fig2c", _PT_FT_JT, 1,
              "Theorems 1-3: mu = (2.1, -0.9) 1_10, Sigma_beta = I, pi = (0.3, 0.7), sigma^2 = 0"),
    PanelSpec("2d", "Figure 2(d)", "fig2d", _HEADS, 1,
              "task-specific heads (Thm 4): mu = (1.4, -0.6) 1_10, Sigma_beta = I and 2I, pi = (0.3, 0.7), sigma^2 = 0"),
    PanelSpec("A1a", "Figure A1(a)", "figA1a", _PT_FT_JT, 1, "noisy labels (D.1): the 2(a) mixture with sigma^2 = 5"),
    PanelSpec("A1b", "Figure A1(b)", "figA1b", _PT_FT_JT + ("PGD", "HEADS"), 1,
              "noisy labels (D.1): the 2(c) mixture with sigma^2 = 5, Theorems 1-4"),
    PanelSpec("A1c", "Figure A1(c)", "figA1c", _PT_FT_JT, 1,
              "non-isotropic (D.2): the 2(a) mixture with I_10 -> diag{0.9, 0.9^-1, ..., 0.9^-9}, sigma^2 = 5"),
    PanelSpec("A1d", "Figure A1(d)", "figA1d", _HEADS, 1,
              "non-isotropic (D.2): the 2(d) mixture with I_10 -> diag{0.9, 0.9^-1, ..., 0.9^-9}, sigma^2 = 5"),
    *[PanelSpec(f"A2{letter}", f"Figure A2({letter})", f"figA2-{noise}", ("PT", "JT", "HEADS"), layers,
                f"{layers}-layer linear attention (Appendix E), {'sigma^2 = 0' if noise == 'clean' else 'sigma^2 = 5'}: "
                "mu = (1.7, -1.3) 1_10, Sigma_beta1 = Sigma_beta2 / 2 = diag{0.9, ..., 0.9^-9}, pi = (0.3, 0.7)")
      for letter, noise, layers in [("a", "clean", 1), ("b", "clean", 2), ("c", "clean", 3),
                                    ("d", "noisy", 1), ("e", "noisy", 2), ("f", "noisy", 3)]],
]}

# --quick: few n values and small budgets, so every panel finishes on a 2-core CPU in a few minutes.
QUICK = Budget("quick", ns=(1, 3, 10, 30), mc_target_rel_se=2e-2, mc_min_samples=1_000, mc_max_samples=200_000,
               train_quick=True, train_ns=(10,))  # one trained point per setting: ~3 s each on an idle CPU core
# --full: the paper's text does not list its n grid; Figures 2, A1 and A2 span the few-shot region n < d = 10
# and beyond, so --full uses every n up to 10 and then steps of 5 up to 50, with the paper's training protocol
# (Section 6: 20,000 Adam steps, batch 8192, lr 1e-3, best of 50 restarts). Meant for a GPU.
FULL = Budget("full", ns=tuple(range(1, 11)) + tuple(range(15, 51, 5)), mc_target_rel_se=2e-3, mc_min_samples=10_000,
              mc_max_samples=10_000_000, train_quick=False, train_ns=tuple(range(1, 11)) + tuple(range(15, 51, 5)))


def panel(panel_id: str) -> PanelSpec:
    """The panel called ``panel_id`` ("2a", "A1d", "A2f"; case-insensitive, an optional "fig" prefix is allowed)."""
    key = panel_id.strip()
    if key.lower().startswith("fig"):
        key = key[3:].lstrip("-_ ")
    for pid in PANELS:
        if pid.lower() == key.lower():
            return PANELS[pid]
    raise VerifyError(f"--figure: unknown panel {panel_id!r}; expected one of {', '.join(PANELS)}")
