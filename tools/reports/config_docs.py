"""docs/configuration.md, generated from the config dataclasses in stacks/config/.

The page is read from the code, never written by hand, so it cannot drift from what
``load_environments`` accepts: each section is a dataclass, each key a field (type hint,
default, ``check=``), its meaning a ``:param key:`` line of the class docstring, a ``#:``
comment above the field or a comment at the end of its line, and the rules between keys
come from the section's ``problems()``. Nothing here knows the sections by name: a new
section or key appears when it is added to the dataclasses.

    make docs      # rewrite docs/configuration.md (and docs/alarms.md)
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import json
import re
import textwrap
import tokenize
import types
from collections.abc import Iterator
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from tools import ROOT
from tools.reports import page, write_page

CONFIGURATION = ROOT / "docs" / "configuration.md"

_PARAM = re.compile(r"^\s*:param (\w+):\s*(.*)$")
_SHORT_PATTERN = 40  # longer regular expressions are named, not shown (the e-mail one is 120 characters)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("``", "`").replace("|", "\\|")


def type_text(hint: Any) -> str:
    """A field's type in the words of JSON (cdk.json is JSON)."""
    if hint is type(None):
        return "null"
    origin = get_origin(hint)
    if origin is Literal:
        return " or ".join(json.dumps(a) for a in get_args(hint))
    if origin in (Union, types.UnionType):
        return " or ".join(type_text(a) for a in get_args(hint))
    if origin is tuple:
        return f"list of {type_text(get_args(hint)[0])}"
    if dataclasses.is_dataclass(hint):
        return f"object ({getattr(hint, '__name__', hint)})"
    names = {bool: "boolean", int: "integer", float: "number", str: "string"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def default_text(f: dataclasses.Field[Any]) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
        if value is None:
            return "none"
        if isinstance(value, tuple):
            value = list(value)
        try:
            return f"`{json.dumps(value)}`"
        except TypeError:
            return f"`{value!r}`"
    if f.default_factory is not dataclasses.MISSING:
        made = f.default_factory()
        return "every key's default" if dataclasses.is_dataclass(made) else f"`{made!r}`"
    return "**required**"


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def check_text(check: Any) -> str:
    """What a ``check=`` allows, read from the check itself (its closure, else its docstring)."""
    if check is None:
        return ""
    try:
        bound = inspect.getclosurevars(check).nonlocals
    except TypeError:
        bound = {}
    what = bound.get("what")
    if "minimum" in bound and "maximum" in bound:
        return f"{_number(bound['minimum'])} to {_number(bound['maximum'])}"
    if "allowed" in bound:
        return f"{what}: {', '.join(str(a) for a in bound['allowed'])}"
    if "compiled" in bound:
        pattern = bound["compiled"].pattern
        return f"{what} (`{pattern}`)" if len(pattern) <= _SHORT_PATTERN else str(what)
    doc = inspect.getdoc(check)
    if doc:
        return f"`{check.__name__}`: {doc.splitlines()[0]}"
    return f"`{getattr(check, '__name__', repr(check))}`"


def field_docs(cls: type) -> dict[str, str]:
    """Each field's text: ``:param name:`` in the class docstring, ``#:`` above it, or ``#`` after it."""
    docs: dict[str, str] = {}
    lines = (inspect.getdoc(cls) or "").splitlines()
    current = None
    for line in lines:
        match = _PARAM.match(line)
        if match:
            current, docs[match.group(1)] = match.group(1), match.group(2)
        elif current and line.strip() and line.startswith((" ", "\t")):
            docs[current] += " " + line.strip()
        else:
            current = None
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return docs
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            comments[token.start[0]] = token.string
    for node in ast.parse(source).body[0].body:  # type: ignore[attr-defined]
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        name, texts = node.target.id, list[str]()
        above = node.lineno - 1
        while comments.get(above, "").startswith("#:"):
            texts.insert(0, comments[above][2:].strip())
            above -= 1
        trailing = comments.get(node.end_lineno or node.lineno, "")
        if trailing and not trailing.startswith("#:"):
            texts.append(trailing.lstrip("#").strip())
        if texts and name not in docs:
            docs[name] = " ".join(texts)
    return docs


def _fstring_text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):  # a value computed at load time
                parts.append("…")
        return "".join(parts)
    return "`" + ast.unparse(node).replace("self.", "") + "`"


def rules(cls: type) -> list[str]:
    """The rules between keys, one line each, read from the section's ``problems()``."""
    method = cls.__dict__.get("problems")
    if method is None:
        # A section may inherit its rules: SearchConfig is the SearchSizing its construct takes.
        owner = next((base for base in cls.__mro__[1:] if "problems" in base.__dict__), None)
        return [f"{rule} (`{owner.__name__}`)" for rule in rules(owner)] if owner else []
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
    except (OSError, TypeError):
        return [f"`{cls.__name__}.problems()`"]
    loops: dict[ast.AST, ast.For] = {}  # each node inside a loop -> the innermost loop
    for loop in ast.walk(tree):
        if isinstance(loop, ast.For):
            for inner in ast.walk(loop):
                if inner is not loop:
                    loops[inner] = loop
    found: list[tuple[int, str]] = []  # (line, rule): in the order of the source
    for node in ast.walk(tree):
        if isinstance(node, ast.Yield) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 3:
            key, _, message = node.value.elts
            text = f"{_key_text(key)} {_fstring_text(message)}"
            enclosing = loops.get(node)
            if enclosing is not None and not isinstance(key, ast.Constant):
                names = ast.unparse(enclosing.target)
                text = f"{text} (for each `{names}` in `{ast.unparse(enclosing.iter).replace('self.', '')}`)"
            found.append((node.lineno, text))
        elif isinstance(node, ast.YieldFrom):
            target = _problems_owner(cls, node.value)
            if target is None:
                found.append((node.lineno, "the rules of `" + ast.unparse(node.value).replace("self.", "") + "`"))
            else:
                found.extend((node.lineno, f"{rule} (`{target.__name__}`)") for rule in rules(target))
    return [rule for _, rule in sorted(found, key=lambda pair: pair[0])]


def _problems_owner(cls: type, call: ast.expr) -> type | None:
    """The class whose ``problems()`` a ``yield from self.<attr>.problems()`` delegates to."""
    match = re.fullmatch(r"self\.(\w+)\.problems\(\)", ast.unparse(call))
    if match is None:
        return None
    attribute = getattr(cls, match.group(1), None)
    try:
        if isinstance(attribute, property) and attribute.fget is not None:
            owner = get_type_hints(attribute.fget).get("return")
        else:
            owner = get_type_hints(cls).get(match.group(1))
    except NameError:
        return None
    return owner if isinstance(owner, type) and "problems" in owner.__dict__ else None


def _key_text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        return "`" + str(node.value) + "`"
    if isinstance(node, ast.JoinedStr):
        parts = [
            str(v.value) if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}"  # type: ignore[attr-defined]
            for v in node.values
        ]
        return "`" + "".join(parts) + "`"
    return "`{" + ast.unparse(node) + "}`"


def _nested(hint: Any) -> type | None:
    """The section type a field holds (directly, optionally or as a list), if it holds one."""
    candidates = [hint, *get_args(hint)]
    for candidate in candidates:
        if dataclasses.is_dataclass(candidate) and isinstance(candidate, type):
            return candidate
    return None


def sections(cls: type, path: str) -> Iterator[tuple[str, type, bool]]:
    """(key path, section class, optional) of ``cls`` and every section inside it, depth first."""
    yield path, cls, False
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get("from_key"):
            continue
        inner = _nested(hints[f.name])
        if inner is None:
            continue
        suffix = "[]" if get_origin(hints[f.name]) is tuple else ""
        for sub_path, sub_cls, _ in sections(inner, f"{path}.{f.name}{suffix}"):
            optional = sub_cls is inner and type(None) in get_args(hints[f.name])
            yield sub_path, sub_cls, optional


INTRO = """\
# Configuration reference

<!-- Generated by tools/reports/config_docs.py from stacks/config/: run `make docs`, do not edit. -->

Everything an environment needs is in `cdk.json` under `context.genba.environments.<env>`
(the environment name: 1-16 lower-case letters and digits). `app.py` reads it into the frozen,
typed dataclasses of `stacks/config/`, and nothing else reads context. `cdk synth -c env=prod`
(comma-separated names) builds only the environments named. A wrong value stops synth with
one line naming the key and the value, exit code 2:

```
genba: configuration error: genba.environments.prod.logging.audit_log_retention_days: 42 is not a retention \
CloudWatch Logs offers (1, 3, 5, ...)
```

An unknown key, a missing required key, a value of the wrong type and a `null` are errors
too. "Allowed" is the `check=` of the key; "Rules" are checked between keys of a section
after each key passed its own check.
"""


def render() -> str:
    from stacks.config import CONTEXT_KEY, EnvironmentConfig

    out = [INTRO]
    for path, cls, optional in sections(EnvironmentConfig, f"{CONTEXT_KEY}.environments.<env>"):
        out.append(f"\n## `{path}`\n")
        doc = (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ")
        if doc:
            out.append(f"{doc}" + (" Optional: leave the section out and it is not built." if optional else ""))
            out.append("")
        hints = get_type_hints(cls)
        docs = field_docs(cls)
        out.append("| key | type | default | allowed | meaning |")
        out.append("|---|---|---|---|---|")
        for f in dataclasses.fields(cls):
            if f.metadata.get("from_key"):
                continue
            nested = _nested(hints[f.name])
            meaning = docs.get(f.name, "")
            if nested is not None:
                anchor = f"{path}.{f.name}".replace("<", "").replace(">", "").replace(".", "").replace("[]", "")
                meaning = f"{meaning} See [below](#{anchor}).".strip()
            row = (
                f"`{f.name}`",
                type_text(hints[f.name]),
                default_text(f),
                check_text(f.metadata.get("check")),
                meaning,
            )
            out.append("| " + " | ".join(_cell(cell) for cell in row) + " |")
        found = rules(cls)
        if found:
            out.append("\nRules:\n")
            out.extend(f"- {_cell(rule)}" for rule in found)
    return page(out)


if __name__ == "__main__":
    raise SystemExit(write_page(CONFIGURATION, render()))
