"""Step 5: the crash chain as a tree, the best fix of the session, a node's detail and its
commands, proving a fix.

Imports: textual, model, records, tui.kit, and lazily diagnosis.fixstatus and render.text (the
diagnosis package loads the knowledge base: the first paint does not wait for it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import (
    Button,
    Label,
    OptionList,
    Static,
    Tree,
)
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode

from goci_doctor.records import BuildResult, ChainNode, Diagnosis
from goci_doctor.tui.kit import KIND_LABEL, _app, lit

# --------------------------------------------------------------------------------------------
# 5 Crash chain


class ChainTree(Tree[ChainNode]):
    """The crash chains as a tree: symptom → mechanism → root cause → fixes."""

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
    """Content markup describing one chain node: explanation, evidence, the fix's state.

    ``prove_hint`` is shown under a fix that was not proven: how to prove it, or why it cannot be here.
    """
    out = [f"[b]{lit(node.title)}[/b]  [dim]({lit(node.kind)} · {lit(node.id)})[/dim]"]
    if node.detail:
        out.append(lit(node.detail))
    if node.evidence:
        out.append("\n[b]Evidence[/b]")
        out.extend(f"• {lit(e.fact)}: [b]{lit(e.value)}[/b]\n  [dim]{lit(e.source)}[/dim]" for e in node.evidence)
    if node.kind != "fix":
        return "\n".join(out)
    from goci_doctor.diagnosis.fixstatus import fix_status

    status = fix_status(node, builds)
    out.append(f"\n[b]Rebuilt as {lit(node.variant)}[/b]" if node.variant and status.state != "not-tried" else "")
    # Same wording as the text report: each place the rebuilt variant really ran, or still crashed.
    out.extend(f"[$success]✔ proven: runs on {lit(where)}[/]" for where in node.proven_in)
    if status.state == "build-failed":
        out.append(f"[$error]✖ build failed[/]: {lit(status.reason)}")
    out.extend(f"[$error]✖ still crashes on {lit(where)}[/]" for where in node.failed_in)
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
