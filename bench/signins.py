"""Sign-ins beside calls: incoming-call webhooks timed one at a time, alone and while 12
dashboard sign-ins with a wrong password run in a loop (each hashes a password).

    .venv/bin/python -m bench.signins [--db postgresql] [--quick] [--app-dir /tmp/before]

Each sign-in is what a browser does: GET /login for the form's CSRF token and the session
cookie, then POST /login with a wrong password: 401 after a hash, or, once the sign-in limits
of issue 22 hold (`app.web.sign_in_limits`: 5 per account and address, 20 per address in 15
minutes, 60 a minute overall), 429 without one. So a flood like this one now makes the line
hash a few passwords, not twelve at a time; to measure twelve hashes at a time, run it with
`--app-dir` on a tree whose limits are lifted. The sign-ins run in a process of their
own, so their client's work does not delay the webhooks' client. Target: webhook p99 <= 100
ms during the sign-ins.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import subprocess
import time

from bench.common import (
    HOST,
    PYTHON,
    REPO,
    Database,
    Server,
    Targets,
    closed_loop,
    coachline,
    header,
    line_env,
    parser,
    percentile,
    run_loop,
    use_app,
    workdir,
)
from bench.twilio_requests import call_params, signed

EMAIL = "bench-admin@example.org"
SIGNERS = 12
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


async def sign_ins(port: int, seconds: float) -> tuple[int, list[float], dict[str, int]]:
    """`SIGNERS` loops of wrong-password sign-ins for `seconds`: (done, latencies, statuses)."""
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def signer(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                page = await client.get("/login")
                # The cookie is Secure (the line's public URL is https): sent back by hand.
                cookie = "; ".join(c.split(";")[0] for c in page.headers.get_list("set-cookie"))
                match = CSRF.search(page.text)
                token = (match.group(1) or match.group(2)) if match else ""
                form = {"csrf_token": token, "next": "/", "email": EMAIL, "password": "wrong" * 3}
                answer = await client.post("/login", data=form, headers={"Cookie": cookie})
                status = answer.status_code
            except httpx.HTTPError:
                status = 0
            statuses[status] = statuses.get(status, 0) + 1
            latencies.append((time.perf_counter() - start) * 1000)

    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=20) as client:
        await asyncio.gather(*(signer(client) for _ in range(SIGNERS)))
    return len(latencies), sorted(latencies), {str(k): n for k, n in statuses.items()}


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, help="each measurement: 15 s (--quick 5 s)")
    p.add_argument("--sign-ins-only", nargs=2, type=float, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.sign_ins_only:  # the sign-ins' own process: PORT SECONDS
        port, span = args.sign_ins_only
        print(json.dumps(asyncio.run(sign_ins(int(port), span))))
        return 0
    args.app_dir = use_app(args.app_dir)
    seconds = args.seconds or (5.0 if args.quick else 15.0)
    header("sign-ins beside calls", args)
    from bench import seed

    targets = Targets()
    with workdir() as wd, Database(args.db, wd, args.pg_url) as db:
        db.migrate(args.app_dir)
        phones = seed.seed(db.url, 20, 0)
        env = line_env(args.app_dir, db.url)
        coachline(env, wd, "create-user", EMAIL, "--role", "admin")
        coachline(env, wd, "set-password", EMAIL, stdin="a right password 42\n" * 2)
        with Server(env, wd) as server:
            rng = random.Random(5)

            def calls(count: int) -> list[bytes]:
                sids = (f"CA{rng.getrandbits(128):032x}" for _ in range(count))
                callers = rng.choices(phones, k=count)
                return [
                    signed("/twilio/voice", call_params(sid, caller), server.port)
                    for sid, caller in zip(sids, callers, strict=True)
                ]

            run_loop(closed_loop(server.port, calls(500), 1, 1.0))  # warm-up
            alone = run_loop(closed_loop(server.port, calls(int(seconds * 2500)), 1, seconds))
            signers = subprocess.Popen(
                [
                    PYTHON,
                    "-m",
                    "bench.signins",
                    "--sign-ins-only",
                    str(server.port),
                    str(seconds + 3),
                ],
                cwd=REPO,
                stdout=subprocess.PIPE,
                text=True,
            )
            time.sleep(2.0)  # the sign-ins get going
            beside = run_loop(closed_loop(server.port, calls(int(seconds * 2500)), 1, seconds))
            done, latencies, statuses = json.loads(signers.communicate(timeout=seconds + 60)[0])
    print(f"-- {SIGNERS} concurrent wrong-password sign-ins, in a loop")
    print(
        f"   {done} sign-ins in {seconds + 3:.0f} s ({done / (seconds + 3):.1f}/s), each GET and"
        f" POST /login: p50 {percentile(latencies, 0.5):.0f} ms,"
        f" p99 {percentile(latencies, 0.99):.0f} ms; answers {statuses}"
    )
    print("-- incoming-call webhooks, 1 concurrent")
    for name, run in (("alone", alone), ("beside the sign-ins", beside)):
        bad = run.failures + sum(1 for _, status, _ in run.answers if status != 200)
        print(
            f"   {name:20} {len(run.latencies):6,} req  p50 {run.pct(0.5):6.2f}"
            f"  p99 {run.pct(0.99):7.2f}  max {run.pct(1):7.2f} ms  errors {bad}"
        )
    targets.check("webhook p99 beside the sign-ins", beside.pct(0.99), 100)
    targets.truth(
        "every sign-in refused (401, or 429 past the limits)", set(statuses) <= {"401", "429"}
    )
    return targets.exit_code()


if __name__ == "__main__":
    raise SystemExit(main())
