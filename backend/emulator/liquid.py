"""A small Liquid subset, enough to render Zendesk macro comments.

Supported: ``{{ name }}`` output (unknown names render as an empty string, as in
Zendesk), ``{% if %}`` / ``{% elsif %}`` / ``{% else %}`` / ``{% endif %}`` with
nesting, ``{% unless %}`` / ``{% endunless %}``, comparisons ``==``, ``!=``,
``<>``, ``<``, ``>``, ``<=``, ``>=``, ``contains``, the ``and`` / ``or`` operators
and bare truthiness, and the ``{%-`` / ``-%}`` whitespace trimmers. Output
filters (``| upcase`` …) are parsed and ignored.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LiquidError", "render"]

_TAG_RE = re.compile(r"(\{%-?.*?-?%\}|\{\{-?.*?-?\}\})", re.DOTALL)
_OPERAND_RE = re.compile(
    r"""\s*(
        '[^']*' | "[^"]*"           # quoted strings
        | == | != | <> | <= | >= | < | >
        | [^\s=!<>]+                # names, numbers, keywords
    )""",
    re.VERBOSE,
)
_COMPARATORS = {"==", "!=", "<>", "<", ">", "<=", ">=", "contains"}
_NUMBER_RE = re.compile(r"-?\d+(\.\d+)?")
_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


class LiquidError(ValueError):
    """Raised for a template the subset cannot parse."""


@dataclass
class _Text:
    text: str


@dataclass
class _Output:
    expression: str


@dataclass
class _Conditional:
    # Each branch is (condition, negate, body); a None condition is the else branch.
    branches: list[tuple[str | None, bool, list[_Node]]] = field(default_factory=list)


_Node = _Text | _Output | _Conditional


def render(template: str, variables: Mapping[str, object]) -> str:
    """Render a template against flat dotted variable names (``ticket.id`` …)."""
    nodes = _parse(template)
    return "".join(_render_nodes(nodes, variables))


def _tokenize(template: str) -> list[str]:
    """Split into text and tag tokens, applying the ``-`` whitespace trimmers."""
    parts = [p for p in _TAG_RE.split(template) if p != ""]
    for index, part in enumerate(parts):
        if not _is_tag(part):
            continue
        if part[2] == "-" and index > 0 and not _is_tag(parts[index - 1]):
            parts[index - 1] = parts[index - 1].rstrip()
        if part[-3] == "-" and index + 1 < len(parts) and not _is_tag(parts[index + 1]):
            parts[index + 1] = parts[index + 1].lstrip()
    return parts


def _is_tag(part: str) -> bool:
    """Tell whether a token is a ``{{ }}`` or ``{% %}`` tag."""
    return (part.startswith("{{") and part.endswith("}}")) or (
        part.startswith("{%") and part.endswith("%}")
    )


def _strip_tag(part: str) -> str:
    """Strip the delimiters and trimmers of a tag."""
    return part[2:-2].strip("-").strip()


def _parse(template: str) -> list[_Node]:
    """Build the node tree; raise LiquidError on unbalanced blocks."""
    root: list[_Node] = []
    # Stack of (open block, body list being filled, closing keyword).
    stack: list[tuple[_Conditional, list[_Node], str]] = []
    current = root
    for part in _tokenize(template):
        if part.startswith("{{") and part.endswith("}}"):
            current.append(_Output(_strip_tag(part)))
            continue
        if not (part.startswith("{%") and part.endswith("%}")):
            current.append(_Text(part))
            continue
        body = _strip_tag(part)
        keyword, _, rest = body.partition(" ")
        rest = rest.strip()
        if keyword in ("if", "unless"):
            if not rest:
                raise LiquidError(f"'{keyword}' needs a condition")
            block = _Conditional()
            branch_body: list[_Node] = []
            block.branches.append((rest, keyword == "unless", branch_body))
            current.append(block)
            stack.append((block, current, "end" + keyword))
            current = branch_body
        elif keyword in ("elsif", "else"):
            if not stack:
                raise LiquidError(f"'{keyword}' outside of an if block")
            block = stack[-1][0]
            if block.branches[-1][0] is None:
                raise LiquidError(f"'{keyword}' after 'else'")
            if keyword == "elsif" and not rest:
                raise LiquidError("'elsif' needs a condition")
            branch_body = []
            block.branches.append((rest if keyword == "elsif" else None, False, branch_body))
            current = branch_body
        elif keyword in ("endif", "endunless"):
            if not stack or stack[-1][2] != keyword:
                raise LiquidError(f"unexpected '{keyword}'")
            _, current, _ = stack.pop()
        elif keyword == "comment" or keyword == "endcomment":
            # Comments are rare in macros; dropping the tags keeps their text visible,
            # which is the safer failure for a preview.
            continue
        else:
            raise LiquidError(f"unknown tag '{keyword}'")
    if stack:
        raise LiquidError(f"'{stack[-1][2]}' is missing")
    return root


def _render_nodes(nodes: list[_Node], variables: Mapping[str, object]) -> list[str]:
    """Render a list of nodes to string pieces."""
    out: list[str] = []
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Output):
            expression = node.expression.split("|", 1)[0].strip()
            out.append(_stringify(_resolve(expression, variables)))
        else:
            for condition, negate, body in node.branches:
                if condition is None or _evaluate(condition, variables) != negate:
                    out.extend(_render_nodes(body, variables))
                    break
    return out


def _stringify(value: object) -> str:
    """Render a value the way Liquid prints it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return " ".join(_stringify(v) for v in value)
    return str(value)


def _resolve(token: str, variables: Mapping[str, object]) -> object:
    """Turn an operand token into a value: literal or variable lookup."""
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1]
    if _NUMBER_RE.fullmatch(token):
        return float(token) if "." in token else int(token)
    lowered = token.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    if lowered in ("nil", "null"):
        return None
    if lowered in ("blank", "empty"):
        return ""
    return variables.get(token)


def _is_truthy(value: object) -> bool:
    """Zendesk fields read as empty strings when unset, so treat '' as false too."""
    return value is not None and value is not False and value != "" and value != []


def _evaluate(condition: str, variables: Mapping[str, object]) -> bool:
    """Evaluate and/or chains right to left, as Liquid does."""
    tokens = _split_operands(condition)
    clauses: list[list[str]] = [[]]
    joiners: list[str] = []
    for token in tokens:
        if token in ("and", "or"):
            joiners.append(token)
            clauses.append([])
        else:
            clauses[-1].append(token)
    result = _compare(clauses[-1], variables)
    for joiner, clause in zip(reversed(joiners), reversed(clauses[:-1]), strict=True):
        left = _compare(clause, variables)
        result = (left and result) if joiner == "and" else (left or result)
    return result


def _split_operands(condition: str) -> list[str]:
    """Split a condition into operand and operator tokens."""
    tokens: list[str] = []
    position = 0
    while position < len(condition):
        if condition[position:].strip() == "":
            break
        match = _OPERAND_RE.match(condition, position)
        if match is None:
            raise LiquidError(f"cannot parse condition '{condition}'")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _compare(clause: list[str], variables: Mapping[str, object]) -> bool:
    """Evaluate one ``a``, or ``a op b`` clause."""
    if len(clause) == 1:
        return _is_truthy(_resolve(clause[0], variables))
    if len(clause) != 3 or clause[1] not in _COMPARATORS:
        raise LiquidError(f"cannot parse condition '{' '.join(clause)}'")
    left = _resolve(clause[0], variables)
    right = _resolve(clause[2], variables)
    comparator = clause[1]
    if comparator == "contains":
        if isinstance(left, list | tuple):
            return right in left or _stringify(right) in [_stringify(v) for v in left]
        return _stringify(right) in _stringify(left)
    if comparator in ("==", "!=", "<>"):
        equal = _are_loosely_equal(left, right)
        return equal if comparator == "==" else not equal
    return _compare_order(left, right, comparator)


def _are_loosely_equal(left: object, right: object) -> bool:
    """Compare by printed form: custom field values are strings, literals may be numbers."""
    return left == right or _stringify(left) == _stringify(right)


def _compare_order(left: object, right: object, comparator: str) -> bool:
    """Numeric comparison when both sides read as numbers, else string comparison."""
    compare = _ORDERINGS[comparator]
    try:
        return compare(float(_stringify(left)), float(_stringify(right)))
    except ValueError:
        return compare(_stringify(left), _stringify(right))
