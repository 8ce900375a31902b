"""State diagrams of a script as Mermaid (stateDiagram-v2) or Graphviz dot text."""

from __future__ import annotations

from lgcraft.toys.model import Script, Transition, format_duration


def _label(t: Transition) -> str:
    trigger = t.event if t.event is not None else f"after {format_duration(t.delay_ms or 0)}"
    return trigger + (f" [{t.guard}]" if t.guard else "")


def _id(name: str) -> str:
    return name.replace(".", "_")


def to_mermaid(script: Script) -> str:
    """Mermaid ``stateDiagram-v2``. Mermaid cannot draw an edge between states of
    different composite states, so each transition is drawn inside the innermost
    composite holding both ends, between the children of it that contain them (the
    label then names the real states)."""
    def chain(name: str) -> list[str]:
        return list(reversed(script.ancestors(name)))  # outermost first

    edges: dict[str | None, list[str]] = {}
    for t in script.all_transitions():
        target = t.target or t.source
        a, b = chain(t.source), chain(target)
        depth = 0  # longest common prefix that leaves a child on both sides
        while depth < min(len(a), len(b)) - 1 and a[depth] == b[depth]:
            depth += 1
        container = a[depth - 1] if depth else None
        src, dst = a[depth], b[depth]
        label = _label(t).replace(":", " ")
        if (src, dst) != (t.source, target):
            label += f" ({t.source} to {target})"
        edges.setdefault(container, []).append(f"{_id(src)} --> {_id(dst)} : {label}")

    lines = ["stateDiagram-v2"]

    def block(container: str | None, names: list[str], indent: str, initial: str) -> None:
        lines.append(f"{indent}[*] --> {_id(initial)}")
        for name in names:
            state = script.states[name]
            if state.children:
                lines.append(f"{indent}state {_id(name)} {{")
                block(name, state.children, indent + "    ", state.initial)
                lines.append(f"{indent}}}")
            else:
                lines.append(f"{indent}{_id(name)}")
            if state.final:
                lines.append(f"{indent}{_id(name)} --> [*]")
        lines.extend(f"{indent}{edge}" for edge in edges.get(container, []))

    top = [n for n, s in script.states.items() if s.parent is None]
    block(None, top, "    ", script.initial)
    return "\n".join(lines) + "\n"


def to_dot(script: Script) -> str:
    """Graphviz dot: composite states as clusters (edges attach to their initial leaf)."""
    def leaf_of(name: str) -> str:
        while script.states[name].children:
            name = script.states[name].initial
        return name

    lines = [f'digraph "{script.name}" {{', "    compound=true;", "    rankdir=LR;",
             '    node [shape=box, style=rounded];', '    __start [shape=point];']

    def block(names: list[str], indent: str) -> None:
        for name in names:
            state = script.states[name]
            if state.children:
                lines.append(f'{indent}subgraph "cluster_{name}" {{')
                lines.append(f'{indent}    label="{name}";')
                block(state.children, indent + "    ")
                lines.append(f"{indent}}}")
            else:
                shape = ", peripheries=2" if state.final else ""
                lines.append(f'{indent}"{name}" [label="{name}"{shape}];')

    block([n for n, s in script.states.items() if s.parent is None], "    ")
    lines.append(f'    __start -> "{leaf_of(script.initial)}";')
    for t in script.all_transitions():
        source, target = leaf_of(t.source), leaf_of(t.target or t.source)
        attrs = [f'label="{_label(t)}"']
        if script.states[t.source].children:
            attrs.append(f'ltail="cluster_{t.source}"')
        if t.target and script.states[t.target].children:
            attrs.append(f'lhead="cluster_{t.target}"')
        if t.target is None:
            attrs.append("style=dashed")
        lines.append(f'    "{source}" -> "{target}" [{", ".join(attrs)}];')
    lines.append("}")
    return "\n".join(lines) + "\n"
