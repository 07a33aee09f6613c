"""Build chain text and its checkable claims together, so every shown number is claimed."""

from __future__ import annotations

from agent.state import Claim
from core.labels import file_label

__all__ = ["Writer", "format_number"]


def format_number(value: float, decimals: int | None) -> str:
    """Format a number for chain text: integers plainly, others with ``decimals`` digits."""
    if decimals is None:
        if float(value).is_integer():
            return str(int(value))
        return f"{value:g}"
    return f"{value:.{decimals}f}"


class Writer:
    """Accumulate a sentence and the claims behind each number or quote in it."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.claims: list[Claim] = []

    def text(self, s: str) -> Writer:
        """Append plain text (it must contain no digits that are not claimed)."""
        self._parts.append(s)
        return self

    def num(
        self,
        value: float,
        evidence: str,
        path: str,
        *,
        unit: str | None = None,
        decimals: int | None = None,
    ) -> Writer:
        """Append a number that equals ``evidence.output[path]`` (converted to ``unit``)."""
        shown = format_number(value, decimals)
        digits = len(shown.split(".")[1]) if "." in shown else 0
        self._parts.append(shown)
        self.claims.append(
            Claim(
                kind="number",
                evidence=evidence,
                path=path,
                value=float(shown),
                unit=unit,
                tolerance=0.5 * 10 ** (-digits),
            )
        )
        return self

    def difference(
        self,
        value: float,
        evidence: str,
        other: str,
        path: str,
        *,
        unit: str | None = None,
        decimals: int | None = None,
        tolerance: float | None = None,
    ) -> Writer:
        """Append ``value`` = ``evidence.output[path]`` - ``other.output[path]`` (in ``unit``).

        ``tolerance`` defaults to half a unit of the last shown digit; a difference of two shown
        (rounded) values needs a whole unit.
        """
        shown = format_number(value, decimals)
        digits = len(shown.split(".")[1]) if "." in shown else 0
        self._parts.append(shown)
        self.claims.append(
            Claim(
                kind="compare",
                op="difference",
                evidence=evidence,
                path=path,
                other_evidence=other,
                other_path=path,
                value=float(shown),
                unit=unit,
                tolerance=0.5 * 10 ** (-digits) if tolerance is None else tolerance,
            )
        )
        return self

    def relation(self, s: str, evidence: str, other: str, path: str, *, same: bool) -> Writer:
        """Append ``s``, which states that the two outputs at ``path`` are equal (or not)."""
        self._parts.append(s)
        op = "same" if same else "differ"
        self.claims.append(
            Claim(
                kind="compare",
                op=op,
                evidence=evidence,
                path=path,
                other_evidence=other,
                other_path=path,
            )
        )
        return self

    def box(self, box: list[int], evidence: str, path: str) -> Writer:
        """Append ``[x0, y0, x1, y1]`` with a claim per coordinate (level-0 pixels)."""
        self.text("[")
        for i, v in enumerate(box):
            if i:
                self.text(", ")
            self.num(v, evidence, f"{path}.{i}")
        return self.text("]")

    def absent(self, s: str, evidence: str, path: str) -> Writer:
        """Append text stating that the value at ``path`` is unknown (null in the output)."""
        self._parts.append(s)
        self.claims.append(Claim(kind="absent", evidence=evidence, path=path))
        return self

    def quote(self, s: str, evidence: str) -> Writer:
        """Append a verbatim quote of a string in the evidence (error, summary or note)."""
        self._parts.append(s)
        self.claims.append(Claim(kind="quote", evidence=evidence, text=s))
        return self

    def label(self, name: str, evidence: str) -> Writer:
        """Append a file name from the evidence as a quoted label: “my slide.svs”.

        The label is data: control characters removed, length capped (``core.labels``), and
        claimed as a ``name``, so no number, entity or disease is read from inside it.
        """
        shown = file_label(name)
        self._parts.append(f"“{shown}”")
        self.claims.append(Claim(kind="name", evidence=evidence, text=shown))
        return self

    def extend(self, other: Writer) -> Writer:
        """Append another writer's text and claims."""
        self._parts.append(other.render())
        self.claims.extend(other.claims)
        return self

    def capitalized(self) -> Writer:
        """A copy whose text starts with a capital letter (claims unchanged)."""
        out = Writer()
        out._parts = ["".join(self._parts)]
        out._parts[0] = out._parts[0][:1].upper() + out._parts[0][1:]
        out.claims = list(self.claims)
        return out

    def render(self) -> str:
        """Return the text written so far."""
        return "".join(self._parts)
