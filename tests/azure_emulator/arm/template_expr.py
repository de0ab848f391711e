"""Parser for the ARM template expression language (the ``"[...]"`` strings in a template).

Grammar, as ARM accepts it::

    expression := primary ( '.' identifier | '[' expression ']' )*
    primary    := string | integer | identifier '(' [ expression (',' expression)* ] ')'

Strings are single-quoted with ``''`` as the escaped quote; ``true``/``false``/``null`` are the
functions ``true()``, ``false()``, ``null()``; a JSON string starting with ``[[`` is a literal
that starts with ``[``.  Parse errors carry ARM's wording so the deployment fails as ARM's does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any


class ExpressionError(Exception):
    """An expression that cannot be parsed or evaluated; the message is ARM's inner message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Member:
    target: Node
    name: str


@dataclass(frozen=True)
class Index:
    target: Node
    index: Node


Node = Literal | Call | Member | Index


def is_expression(value: str) -> bool:
    return len(value) >= 2 and value[0] == "[" and value[-1] == "]" and not value.startswith("[[")


def unescape_literal(value: str) -> str:
    """``"[[x]"`` is the literal ``"[x]"``; every other string is itself."""
    return value[1:] if value.startswith("[[") else value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, detail: str) -> ExpressionError:
        return ExpressionError(
            f"The template language expression '{self.text}' is not valid: {detail}. "
            "Please see https://aka.ms/arm-template-expressions for usage details."
        )

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            found = self.text[self.pos] if self.pos < len(self.text) else "end of expression"
            raise self.fail(f"the string character '{found}' at position '{self.pos}' is not expected")
        self.pos += 1

    def parse(self) -> Node:
        node = self.expression()
        if self.peek():
            raise self.fail(
                f"the string character '{self.text[self.pos]}' at position '{self.pos}' is not expected"
            )
        return node

    def expression(self) -> Node:
        node = self.primary()
        while True:
            char = self.peek()
            if char == ".":
                self.pos += 1
                self.skip_ws()
                name = self.identifier()
                if not name:
                    raise self.fail(f"a property name is expected at position '{self.pos}'")
                node = Member(node, name)
            elif char == "[":
                self.pos += 1
                index = self.expression()
                self.expect("]")
                node = Index(node, index)
            else:
                return node

    def identifier(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] in "_$"):
            self.pos += 1
        return self.text[start : self.pos]

    def primary(self) -> Node:
        char = self.peek()
        if not char:
            raise self.fail("the expression is incomplete")
        if char == "'":
            return Literal(self.string())
        if char.isdigit() or (char == "-" and self.text[self.pos + 1 : self.pos + 2].isdigit()):
            start = self.pos
            self.pos += 1
            while self.pos < len(self.text) and self.text[self.pos].isdigit():
                self.pos += 1
            return Literal(int(self.text[start : self.pos]))
        start = self.pos
        name = self.identifier()
        # User-defined functions are namespaced: 'ns.fn(...)'.
        if name and self.text[self.pos : self.pos + 1] == "." and self._namespaced_call_follows():
            self.pos += 1
            name = f"{name}.{self.identifier()}"
        if not name:
            raise self.fail(f"the string character '{char}' at position '{start}' is not expected")
        if self.peek() != "(":
            raise self.fail(
                f"the string character '{self.text[start]}' at position '{start}' is not expected"
            )
        self.pos += 1
        args: list[Node] = []
        if self.peek() == ")":
            self.pos += 1
            return Call(name, tuple(args))
        while True:
            args.append(self.expression())
            char = self.peek()
            if char == ",":
                self.pos += 1
                continue
            self.expect(")")
            return Call(name, tuple(args))

    def _namespaced_call_follows(self) -> bool:
        rest = self.text[self.pos + 1 :]
        i = 0
        while i < len(rest) and (rest[i].isalnum() or rest[i] == "_"):
            i += 1
        return i > 0 and rest[i:].lstrip().startswith("(")

    def string(self) -> str:
        self.pos += 1  # opening quote
        out: list[str] = []
        while True:
            end = self.text.find("'", self.pos)
            if end < 0:
                raise self.fail("the string literal is not terminated")
            out.append(self.text[self.pos : end])
            if self.text[end + 1 : end + 2] == "'":
                out.append("'")
                self.pos = end + 2
                continue
            self.pos = end + 1
            return "".join(out)


@lru_cache(maxsize=4096)
def parse(expression: str) -> Node:
    """Parse the text between the outer brackets of an expression string."""
    return _Parser(expression).parse()


def parse_template_string(value: str) -> Node:
    """Parse a template JSON string that is an expression (see :func:`is_expression`)."""
    return parse(value[1:-1])
