"""What the webhooks of one turn of the event loop ask, asked of the database together.

On a busy line several calls arrive in the same turn of the loop, and each needs the same two
statements (who is calling, the call record). `Gather` takes each webhook's key and, on the
next turn, answers all of them with one call of its `answer` function: one statement, one
round trip and one commit for the group. A quiet line's group is one key, for the price of
one more turn of the loop.

It is the DataLoader pattern; aiodataloader was measured first and left: it awaits the batch
in two new tasks per group and checks its result against `typing.Iterable`, about 25 us a
group, where this is one loop callback. `answer` here is synchronous work on the loop itself
(`app.context.Line.database_work`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Gather(Generic[K, V]):
    """Keys asked during one turn of `loop`, answered together on the next.

    `answer(keys)` returns one value per key, in order; an exception among them fails only
    its own key's caller, an exception raised fails the whole group. At most `most` keys go
    to one call of `answer` (a statement's size stays bounded).
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        answer: Callable[[list[K]], Sequence[V | Exception]],
        most: int = 50,
    ) -> None:
        self._loop = loop
        self._answer = answer
        self._most = most
        self._waiting: list[tuple[K, asyncio.Future[V]]] = []

    def __call__(self, key: K) -> asyncio.Future[V]:
        if not self._waiting:
            self._loop.call_soon(self._answer_all)
        future: asyncio.Future[V] = self._loop.create_future()
        self._waiting.append((key, future))
        return future

    def _answer_all(self) -> None:
        waiting, self._waiting = self._waiting, []
        for start in range(0, len(waiting), self._most):
            group = waiting[start : start + self._most]
            try:
                answers: Sequence[V | Exception] = self._answer([key for key, _ in group])
                if len(answers) != len(group):
                    raise RuntimeError(f"{len(answers)} answers for {len(group)} keys")
            except Exception as exc:  # every caller hears of it: none is left waiting
                answers = [exc] * len(group)
            for (_, future), answer in zip(group, answers, strict=True):
                if future.done():  # its caller went away
                    continue
                if isinstance(answer, Exception):
                    future.set_exception(answer)
                else:
                    future.set_result(answer)
