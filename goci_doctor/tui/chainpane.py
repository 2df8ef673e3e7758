"""Step 5: the crash chain as a tree, the best fix of the session, a node's detail and its
commands, proving a fix.

Imports: textual, model, records, tui.kit, and lazily diagnosis.fixstatus and render.text (the
diagnosis package loads the knowledge base: the first paint does not wait for it).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widgets import (
    Button,
    Label,
    OptionList,
    Static,
    Tree,
)
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode

from goci_doctor.tui.kit import KIND_LABEL, _app, lit

if TYPE_CHECKING:
    from goci_doctor.records import BuildResult, ChainNode, Diagnosis

# --------------------------------------------------------------------------------------------
# 5 Crash chain


TOGGLE = Style.from_meta({"toggle": True})
"""What a click on a node's expand icon carries (as in Textual's own tree)."""

MIN_LABEL_WIDTH = 12
"""Labels wrap at the tree's width, never narrower than this (deeper nodes then scroll sideways)."""


class ChainTree(Tree["ChainNode"]):
    """The crash chains as a tree: symptom → mechanism → root cause → fixes.

    A label longer than the tree is wide wraps onto continuation lines under it, at the tree's
    current width (again on every resize): a title, a fix's state or a log line is read whole,
    never cut at the edge. The cursor moves node by node; a continuation line belongs to its node
    (a click on it selects the node, the cursor highlights all of its lines).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._line_parts: list[int] = []
        """Per tree line: 0 for a node's first line, k for its k-th continuation."""
        self._building = False

    # -- wrapping -----------------------------------------------------------------------------

    def _guide_width(self, node: TreeNode[ChainNode]) -> int:
        depth = 0
        parent = node.parent
        while parent is not None:
            depth += 1
            parent = parent.parent
        if not self.show_root:
            depth -= 1
        return max(0, depth) * self.guide_depth

    def label_lines(self, node: TreeNode[ChainNode]) -> list[Text]:
        """``node``'s label as it is shown: one Text per line, wrapped at the tree's current width."""
        label = node.label if isinstance(node.label, Text) else Text(str(node.label))
        width = self.scrollable_content_region.width
        if width <= 0:
            return [label]
        # Two cells on every line: the expand icon on the first, the hanging indent on the others.
        wrap_at = max(MIN_LABEL_WIDTH, width - self._guide_width(node) - 2)
        lines = list(label.wrap(self.app.console, wrap_at, overflow="fold"))
        return lines or [label]

    def _build(self) -> None:
        """Textual's one line per node, then each node's continuation lines after its first.

        The cursor stays on its node, renumbered quietly: a rebuild (a resize, a change of focus)
        never announces a highlight, which would redraw the detail and the commands under a person
        who is using them.
        """
        cursor = self.cursor_node if self.cursor_line != -1 else None
        self.set_reactive(Tree.cursor_line, -1)
        self._building = True
        try:
            super()._build()
        finally:
            self._building = False
        lines = self._tree_lines_cached or []
        out: list[Any] = []
        parts: list[int] = []
        widest = 0
        for line in lines:
            node = line.node
            wrapped = self.label_lines(node)
            node._line = len(out)
            guides = self._guide_width(node) + 2
            for k, text in enumerate(wrapped):
                out.append(line if k == 0 else copy.copy(line))
                parts.append(k)
                widest = max(widest, guides + text.cell_len)
        self._tree_lines_cached = out
        self._line_parts = parts
        self.virtual_size = Size(widest if out else self.size.width, len(out))
        if cursor is not None and 0 <= cursor._line < len(out) and out[cursor._line].node is cursor:
            self.set_reactive(Tree.cursor_line, cursor._line)
        elif cursor is not None:
            self.cursor_line = -1  # its node is no longer shown (as Textual's own build does)

    def render_label(self, node: TreeNode[ChainNode], base_style: Style, style: Style) -> Text:
        """The first line of ``node``'s label (its continuation lines are drawn by ``_render_line``)."""
        first = self.label_lines(node)[0].copy()
        first.stylize(style)
        if node.allow_expand:
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
            return Text.assemble((icon, base_style + TOGGLE), first)
        return Text.assemble(("", base_style), first)

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        part = self._line_parts[y] if 0 <= y < len(self._line_parts) else 0
        lines = self._tree_lines
        if part == 0 or y >= len(lines):
            return super()._render_line(y, x1, x2, base_style)
        line = lines[y]
        node = line.node
        wrapped = self.label_lines(node)
        text = wrapped[part].copy() if part < len(wrapped) else Text()
        # Guides as Textual draws them, with each node's own line continuing below it when a
        # sibling follows (and the line to its children when it has some).
        guide = self.get_component_rich_style("tree--guides", partial=True)
        selected_guide = guide + self.get_component_rich_style("tree--guides-selected", partial=True)
        chars = self.LINES["default"] if self.show_guides else ("  ",) * 4
        pad = " " * max(0, self.guide_depth - 2)
        space, vertical = (f"{c[0]}{c[1] * len(pad)} " for c in chars[:2])
        line_style = base_style + Style(meta={"line": y})
        out = Text(style=line_style)
        selected = line.path[0]._selected and self.has_focus
        for step in line.path[1:]:
            out.append(space if step.is_last else vertical, style=selected_guide if selected else guide)
            selected = (selected or step._selected) and self.has_focus
        to_children = node.is_expanded and bool(node.children)
        out.append(f"{chars[1][0]} " if to_children else "  ", style=selected_guide if selected else guide)
        label_style = self.get_component_rich_style("tree--label", partial=True)
        if self.hover_line == y:
            label_style += self.get_component_rich_style("tree--highlight", partial=True)
        if self.cursor_node is node and self.cursor_line == node._line:
            label_style += self.get_component_rich_style("tree--cursor", partial=False)
        text.stylize(label_style)
        text.stylize(Style(meta={"node": node.id}))
        out.append(text)
        segments = list(out.render(self.app.console))
        width = max(self.virtual_size.width, self.size.width)
        return Strip(Segment.adjust_line_length(segments, width, style=line_style)).crop(x1, x2)

    def _get_label_region(self, line: int) -> Region | None:
        """Every line of the node at ``line``: scrolling to a node shows its whole label."""
        region = super()._get_label_region(line)
        if region is None:
            return None
        node = self._tree_lines[line].node
        count = sum(1 for _ in self._continuations(node._line)) + 1
        return Region(region.x, node._line, region.width, count)

    def _continuations(self, first: int) -> Iterator[int]:
        k = first + 1
        while k < len(self._line_parts) and self._line_parts[k] > 0:
            yield k
            k += 1

    # -- the cursor moves from node to node ---------------------------------------------------

    def validate_cursor_line(self, value: int) -> int:
        line = super().validate_cursor_line(value)
        if self._building or len(self._line_parts) != len(self._tree_lines_cached or ()):
            return line
        while line > 0 and self._line_parts[line] > 0:
            line -= 1
        return line

    def action_cursor_down(self) -> None:
        if self.cursor_line == -1:
            self.cursor_line = 0
        else:
            # Past the node's continuation lines: the next node's first line (the last node stays).
            after = max([self.cursor_line, *self._continuations(self.cursor_line)]) + 1
            if after < len(self._tree_lines):
                self.cursor_line = after
        self.scroll_to_line(self.cursor_line, animate=False)

    def scroll_to_line(self, line: int, animate: bool = True) -> None:
        """Bring ``line`` into view now (never animated, never deferred).

        Textual's own scroll computes a relative move now and applies it after the next refresh; one
        computed before the best-fix box above settled the tree's height then lands on another
        layout, and the view depended on timing (the snapshots saw it as a random scroll of a row or two).
        """
        region = self._get_label_region(line)
        if region is not None:
            self.scroll_to_region(region, animate=False, force=True, origin_visible=False, x_axis=False, immediate=True)

    def settle(self) -> None:
        """The view for the current size: from the top, scrolled only as far as the cursor needs."""
        self.scroll_to(y=0, animate=False, immediate=True)
        if self.cursor_node is not None:
            self.scroll_to_node(self.cursor_node, animate=False)

    def on_resize(self) -> None:
        # The height changes as the best-fix box above fills in: the view is a function of the
        # final size and the cursor, whatever was scrolled while the layout was settling.
        # The labels are wrapped again at the new width first: it numbers the lines settle scrolls to.
        self._invalidate()
        self.settle()

    def show(self, diagnosis: Diagnosis | None, colours: dict[str, str], builds: Sequence[BuildResult] = ()) -> None:
        """Rebuild the tree from ``diagnosis`` (``colours``: node kind -> colour for the theme)."""
        self.clear()
        if diagnosis is None:
            self.root.set_label("No diagnosis yet")
            return
        label = Path(diagnosis.subject).name or diagnosis.kind
        count = len(diagnosis.chains)
        self.root.set_label(
            Text(
                f"{label}: {count} failure{'s' if count != 1 else ''} explained"
                if count
                else f"{label}: no known failure found"
            )
        )
        for chain in diagnosis.chains:
            self._add(self.root, chain, colours, builds)
        self.root.expand_all()

    def _add(
        self,
        parent: TreeNode[ChainNode],
        node: ChainNode,
        colours: dict[str, str],
        builds: Sequence[BuildResult],
    ) -> None:
        text = Text()
        text.append(KIND_LABEL.get(node.kind, node.kind), style=f"bold {colours.get(node.kind, '')}".strip())
        if node.kind == "fix":
            from goci_doctor.diagnosis.fixstatus import fix_status

            # The state comes first: a long title cut at the edge never hides whether the fix works.
            status = fix_status(node, builds)
            colour = {"proven": "fix", "not-tried": "note"}.get(status.state, "symptom")
            mark = f" {status.mark}" if status.state != "not-tried" else " (not tried)"
            text.append(mark, style=f"bold {colours.get(colour, '')}".strip())
        # Rich Text, never markup: titles quote logs and binaries ("[", "\\" are literal).
        text.append(": " + node.title)
        if node.children:
            branch = parent.add(text, data=node, expand=True)
            for child in node.children:
                self._add(branch, child, colours, builds)
        else:
            parent.add_leaf(text, data=node)


def node_detail(node: ChainNode, builds: Sequence[BuildResult] = (), prove_hint: str = "") -> str:
    """Content markup describing one chain node: a fix's state, explanation, evidence.

    A fix's verdict (proven, still crashes, build failed) is the first line: the pane can be a few
    rows high on a small terminal, and the answer a proof brings must be seen without scrolling.
    ``prove_hint`` is shown under a fix that was not proven: how to prove it, or why it cannot be here.
    """
    from goci_doctor.diagnosis.fixstatus import fix_status

    out: list[str] = []
    status = fix_status(node, builds) if node.kind == "fix" else None
    if status is not None and status.state != "not-tried":
        # Same wording as the text report: each place the rebuilt variant really ran, or still crashed.
        out.extend(f"[$success]✔ proven: runs on {lit(where)}[/]" for where in node.proven_in)
        if status.state == "build-failed":
            out.append(f"[$error]✖ build failed[/]: {lit(status.reason)}")
        out.extend(f"[$error]✖ still crashes on {lit(where)}[/]" for where in node.failed_in)
    out.append(f"[b]{lit(node.title)}[/b]  [dim]({lit(node.kind)} · {lit(node.id)})[/dim]")
    if status is not None and status.state != "not-tried" and node.variant:
        out.append(f"[dim]Rebuilt as[/dim] [b]{lit(node.variant)}[/b]")
    if node.detail:
        out.append(lit(node.detail))
    if node.evidence:
        out.append("\n[b]Evidence[/b]")
        out.extend(f"• {lit(e.fact)}: [b]{lit(e.value)}[/b]\n  [dim]{lit(e.source)}[/dim]" for e in node.evidence)
    if status is None:
        return "\n".join(out)
    if status.state == "not-tried":
        out.append("\n[dim]Not tried in a container yet.[/dim]")
    if prove_hint and status.state != "proven":
        out.append(prove_hint)
    return "\n".join(out)


class ChainPane(Vertical):
    """Step 5: the best fix on top; the tree on the left, the selected node and its commands on the right."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy fix"),
        Binding("p", "prove", "Prove fix"),
        Binding("left_square_bracket", "resize(-10)", "Smaller tree", show=False),
        Binding("right_square_bracket", "resize(10)", "Taller tree", show=False),
    ]

    tree_height = 45
    """Percent of the pane's height the tree may take ("[" and "]" change it)."""

    def compose(self) -> ComposeResult:
        yield Static("", id="best-fix")
        # The tree spans the whole width, so fix titles are read in full rather than cut at a split.
        yield ChainTree("No diagnosis yet", id="chain-tree")
        with Horizontal(id="chain-split"):
            with VerticalScroll(id="chain-detail-scroll"):
                yield Static("Select a node to see why.", id="chain-detail")
            with Vertical(id="chain-side"):
                yield Label("Commands (enter copies a line, c all)", id="chain-commands-label")
                yield OptionList(id="chain-commands")
                with Horizontal(classes="row"):
                    # Compact: one row each, so small terminals keep their rows for the commands.
                    yield Button("Copy all", id="copy-fix", compact=True)
                    yield Button("Prove this fix", id="prove-fix", variant="primary", compact=True)

    def show(self, diagnosis: Diagnosis | None, builds: Sequence[BuildResult] = (), keep: str = "") -> None:
        """Rebuild the tree; ``keep`` is the id of the node to leave the cursor on (else the first chain)."""
        tree = self.query_one(ChainTree)
        tree.show(diagnosis, _app(self).kind_colours(), builds)
        self._builds = list(builds)
        # Imported here: the diagnosis package (and its knowledge base) is not needed before the first paint.
        from goci_doctor.diagnosis.fixstatus import summary_line

        best = summary_line(diagnosis, builds)
        if diagnosis is not None and diagnosis.hypotheses:
            # When the text alone is ambiguous: the leading hypothesis and the one command that decides.
            from goci_doctor.render.text import hypothesis_lines

            lead = "\n".join(line.strip() for line in hypothesis_lines(diagnosis) if line.strip())
            best = f"{lead}\n{best}" if best and lead else lead or best
        box = self.query_one("#best-fix", Static)
        box.update(Content(best))
        box.display = bool(best)
        target = None
        if keep:
            target = next((n for n in _tree_walk(tree.root) if n.data is not None and n.data.id == keep), None)
        if target is None and tree.root.children:
            target = tree.root.children[0]
        self._select(target.data if target is not None else None)
        if target is not None:
            # A rebuilt tree numbers its lines lazily; reading last_line numbers them, so the
            # cursor lands on ``target`` now rather than on no line at all.
            _ = tree.last_line
            tree.move_cursor(target)

            # The best-fix box above may have just appeared and shrunk the tree: scroll again once
            # the new layout is known, from the top, so the view is the same whatever the timing.
            def settle(node: TreeNode[ChainNode] = target) -> None:
                tree.move_cursor(node)
                tree.settle()

            self.call_after_refresh(settle)

    def set_progress(self, text: str) -> None:
        """While a log is read and explained: what is happening (the tree's root says it)."""
        if text:
            self.query_one(ChainTree).root.set_label(Text(text))

    def action_resize(self, delta: int) -> None:
        self.tree_height = max(20, min(80, self.tree_height + delta))
        self.query_one(ChainTree).styles.max_height = f"{self.tree_height}%"

    def selected(self) -> ChainNode | None:
        node = self.query_one(ChainTree).cursor_node
        return node.data if node is not None else None

    def _select(self, node: ChainNode | None) -> None:
        detail = self.query_one("#chain-detail", Static)
        commands = self.query_one("#chain-commands", OptionList)
        commands.clear_options()
        prove = self.query_one("#prove-fix", Button)
        if node is None:
            detail.update("Select a node to see why.")
            prove.display = False
            commands.display = False
            self.query_one("#chain-commands-label").display = False
            return
        why_not = _app(self).why_not_provable(node)
        hint = ""
        if node.kind == "fix" and node.variant:
            hint = (
                f"\nPress [b]p[/b] to prove this fix (variant [b]{lit(node.variant)}[/b])."
                if not why_not
                else f"\n[dim]{lit(why_not)}[/dim]"
            )
        detail.update(Content.from_markup(node_detail(node, getattr(self, "_builds", ()), hint)))
        # Each node's explanation is read from its first line (where a fix's verdict is), never from
        # where the previous node's was scrolled to.
        self.query_one("#chain-detail-scroll", VerticalScroll).scroll_home(animate=False, immediate=True)
        prove.display = not why_not and not node.proven_in
        fixes = [node] if node.kind == "fix" else [c for c in node.children if c.kind == "fix"]
        lines = [c for f in fixes[:1] for c in f.commands]
        # Plain Content: a command is shown exactly as it is copied, whatever brackets it holds.
        commands.add_options([Option(Content(line)) for line in lines])
        commands.display = bool(lines)
        self.query_one("#chain-commands-label").display = bool(lines)

    def command_lines(self) -> list[str]:
        """The commands shown for the selected node, one per line."""
        node = self.selected()
        if node is None:
            return []
        fixes = [node] if node.kind == "fix" else [c for c in node.children if c.kind == "fix"]
        return [c for f in fixes[:1] for c in f.commands]

    @on(Tree.NodeHighlighted, "#chain-tree")
    def _highlighted(self, event: Tree.NodeHighlighted[ChainNode]) -> None:
        # The root carries no node: keep showing the last explanation rather than blanking it.
        if event.node.data is not None:
            self._select(event.node.data)

    @on(OptionList.OptionSelected, "#chain-commands")
    def _copy_line(self, event: OptionList.OptionSelected) -> None:
        lines = self.command_lines()
        if 0 <= event.option_index < len(lines):
            self.app.copy_to_clipboard(lines[event.option_index])
            self.notify("Command copied to the clipboard.")

    @on(Button.Pressed, "#copy-fix")
    def action_copy(self) -> None:
        text = "\n".join(self.command_lines())
        if text:
            self.app.copy_to_clipboard(text)
            self.notify("Fix commands copied to the clipboard.")
        else:
            self.notify("This node has no commands to copy.", severity="warning")

    @on(Button.Pressed, "#prove-fix")
    def action_prove(self) -> None:
        node = self.selected()
        if node is None or node.kind != "fix" or not node.variant:
            self.notify("Select a fix that names a build variant to prove it.", severity="warning")
            return
        why_not = _app(self).why_not_provable(node)
        if why_not:
            self.notify(why_not, severity="warning", markup=False)
            return
        _app(self).prove_fix(node)


def _tree_walk(node: TreeNode[ChainNode]) -> list[TreeNode[ChainNode]]:
    out = [node]
    for child in node.children:
        out.extend(_tree_walk(child))
    return out
