"""`coachline --help` that reads as sentences: no `<bool>`, `<int>` or `[1<=x<=2147483647]`
beside each name (an option that takes a value shows what it takes, e.g. `--at TIME`), and
each command's summary joined into one paragraph (markdown, as typer renders it)."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


class _Argument(TyperArgument):
    # Its name is in the first column already; what it is, its help says.
    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _get_number_range_help_str(self) -> str | None:
        return None


class _Option(TyperOption):
    # A flag takes nothing; an option that takes a value names it, e.g. `--at TIME`.
    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag:
            return None
        return self.metavar or (self.name or "value").upper()

    def _get_number_range_help_str(self) -> str | None:
        return None


def _plain(params: list[Any]) -> None:
    for param in params:
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif type(param) is TyperOption:
            param.__class__ = _Option


class _PlainParams:
    """Mixed into a command or a group: its parameters, and its --help, print plainly."""

    params: list[Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain(self.params)

    def get_help_option(self, ctx: Any) -> TyperOption | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        _plain([option])
        return option


class PlainCommand(_PlainParams, TyperCommand):
    pass


class PlainGroup(_PlainParams, TyperGroup):
    pass


class PlainTyper(typer.Typer):
    """A Typer whose commands and groups print plain help."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", PlainGroup)
        kwargs.setdefault("rich_markup_mode", "markdown")
        kwargs.setdefault("add_completion", False)
        # Rich tracebacks would print local variables: tokens, names and phone numbers among
        # them.
        kwargs.setdefault("pretty_exceptions_show_locals", False)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", PlainCommand)
        return super().command(*args, **kwargs)
