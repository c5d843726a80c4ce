"""Benchmark of the incoming-text webhook (`POST /twilio/sms`) against a static-TwiML ceiling.

    .venv/bin/python -m bench.sms_webhook [--db sqlite|postgresql] [--clients 100000]
        [--calls 1000000] [--texts 500000] [--concurrency 1,10,50] [--quick]

The same benchmark as `bench/call_webhook.py` (the same options, table, targets and profile,
run by `bench/harness.py`; this module says what an incoming text is) for texts: each request
is an incoming SMS as Twilio posts it, signed, from a random seeded client, with a mix of
bodies a coaching line gets (check-ins and the ratings that answer them, wins, help, other
text, a little crisis language, a few unknown senders). The full database also holds a year
of texting (`--texts` inbound texts with their replies, check-ins, successes). See README.md.
"""

from __future__ import annotations

import heapq
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import create_engine, func, select

from app.models import Call, CheckIn, Message, Success
from app.settings import Settings
from bench import harness, load
from bench.harness import Options, StateResult, Webhook
from bench.profiling import fn, in_file
from bench.seed import Seeded, phone_numbers, seed_text_history
from bench.serve import line_settings

WEBHOOK_PATH = "/twilio/sms"

# --- what clients text ---------------------------------------------------------------------

CHECK_INS = ("check-in", "Check in", "checkin", "CHECK-IN", "hi, check in please", "checking in")
RATINGS = ("0", "1", "2", "2", "3", "3", "4", "5", "2/5", "maybe a 3", "4 out of 5", "id say 1")
WINS = (
    "win: used opposite action and went to group",
    "Win - called my sister instead of isolating",
    "small win: did TIPP before the meeting and it helped",
    "WIN",
    "win! used DEAR MAN with my boss today",
    "success: radical acceptance about the car, didn't spiral",
)
HELPS = ("help", "HELP", "info", "Help please")
OTHERS = (
    "ok thanks",
    "thank you!",
    "running late to group tonight",
    "what time is skills group on thursday?",
    "can you remind me what that skill was",
    "\U0001f44d",
    "sorry wrong number lol",
    "is my therapist in today",
)
# Crisis language: the line answers with the crisis resources and queues a text to the
# client's therapist (or whoever is on call). 1% of the texts.
CRISIS = ("I want to hurt myself tonight", "having thoughts of suicide again")

# What a fresh text is (the rest of the load are ratings answering an earlier check-in).
FRESH_MIX: tuple[tuple[str, float], ...] = (
    ("check_in", 0.38),
    ("win", 0.20),
    ("help", 0.09),
    ("stray_rating", 0.06),  # a number with no check-in open: the help reply
    ("other", 0.22),
    ("crisis", 0.01),
    ("unknown_sender", 0.04),  # a number that is no client's (help or other text)
)
# Most check-ins are answered with a rating, by the same client, a little later in the load:
# this many requests later. More than the 50 in flight at most, so the check-in has almost
# always been answered by then; few enough that most ratings fall within the requests a short
# run sends (a measurement uses the start of a larger pool of signed requests), and that on
# the empty database (100 clients) the client has seldom texted anything else in between.
RATING_FOLLOWS = 0.8
FOLLOW_GAP = (55, 120)

_POOLS = {
    "check_in": CHECK_INS,
    "win": WINS,
    "help": HELPS,
    "stray_rating": RATINGS,
    "rating": RATINGS,
    "other": OTHERS,
    "crisis": CRISIS,
}


@cache
def _unknown_numbers() -> list[str]:
    """Valid numbers no client has: +1 314 3XX XXXX (clients are in 314 2XX)."""
    return phone_numbers(random.Random("unknown-senders"), 2000, "314", 300)


def text_mix(rng: random.Random, phones: list[str], count: int) -> list[tuple[str, str, str]]:
    """`count` texts (from, body, what it is), in the order they are sent."""
    kinds, weights = zip(*FRESH_MIX, strict=True)
    unknown = _unknown_numbers()
    due: list[tuple[int, int, str]] = []  # (position, tie-break, phone) of rating follow-ups
    out: list[tuple[str, str, str]] = []
    for position in range(count):
        if due and due[0][0] <= position:
            _, _, phone = heapq.heappop(due)
            out.append((phone, rng.choice(RATINGS), "rating"))
            continue
        kind = rng.choices(kinds, weights)[0]
        if kind == "unknown_sender":
            body = rng.choice(HELPS if rng.random() < 0.3 else OTHERS)
            out.append((rng.choice(unknown), body, kind))
            continue
        phone = rng.choice(phones)
        out.append((phone, rng.choice(_POOLS[kind]), kind))
        if kind == "check_in" and rng.random() < RATING_FOLLOWS:
            heapq.heappush(due, (position + rng.randint(*FOLLOW_GAP), position, phone))
    return out


def make_requests(rng: random.Random, seeded: Seeded, count: int, port: int) -> list[load.Prepared]:
    texts = text_mix(rng, seeded.client_phones, count)
    return load.incoming_texts(
        rng, [(phone, body) for phone, body, _ in texts], port=port, path=WEBHOOK_PATH
    )


def mix_shares(sample: int = 20_000) -> list[tuple[str, float]]:
    """The share of each kind of text in the load (from a sample of the generator)."""
    phones = [f"+1314200{i:04d}" for i in range(1000)]
    counts = Counter(kind for _, _, kind in text_mix(random.Random(1), phones, sample))
    return [(kind, 100.0 * n / sample) for kind, n in counts.most_common()]


# --- classifying answers -------------------------------------------------------------------


def webhook_classifier() -> load.Classifier:
    """An answer's kind. On any error the line answers 200 TwiML with the crisis resources
    (`crisis_reply_twiml`): recognised by its exact text and counted as an error."""
    from app.twilio.sms import crisis_reply_twiml

    settings = Settings(_env_file=None, **{k.lower(): v for k, v in line_settings("").items()})
    kinds = (
        (b"A skill to try now", "check_in_prompt"),
        (b"Thanks for checking in", "rating_reply"),
        (b"Thanks for telling us", "rating_reply"),
        (b"To finish your check-in", "check_in_reminder"),
        (b"sharing your win", "success_reply"),
        (b"sharing a win", "success_reply"),
        (b"Please call or text 988 now", "crisis_reply"),
        (b"enrolled clients", "unknown_sender_reply"),
        (b"Text commands for therapists", "therapist_reply"),
        (b"You will get texts from", "opt_in_reply"),
        (b"text CHECK-IN for a skill", "help_reply"),
    )

    def kind(body: bytes) -> str:
        if b"<Message>" not in body:
            return "no_reply"  # an opted-out client: silence
        found = next((name for marker, name in kinds if marker in body), "other_twiml")
        return found + " (lockout)" if b"Phone coaching opens again" in body else found

    return harness.twiml_classifier(crisis_reply_twiml(settings.practice).encode(), kind)


# --- the database before and after ---------------------------------------------------------


def snapshot(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            figures = {"taken_at_us": int(time.time() * 1_000_000)}
            for name, model in (
                ("messages", Message),
                ("check_ins", CheckIn),
                ("successes", Success),
                ("calls", Call),
            ):
                figures[name] = int(conn.scalar(select(func.count()).select_from(model)) or 0)
                figures[f"{name}_max_id"] = int(conn.scalar(select(func.max(model.id))) or 0)
    finally:
        engine.dispose()
    return figures


def written(url: str, before: dict[str, int]) -> dict[str, int]:
    """The rows the runs wrote: texts by direction/kind/status, check-ins, successes."""
    engine = create_engine(url)
    out: dict[str, int] = {}
    taken_at = datetime.fromtimestamp(before.get("taken_at_us", 0) / 1e6, UTC)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Message.direction, Message.kind, Message.status, func.count())
                .where(Message.id > before.get("messages_max_id", 0))
                .group_by(Message.direction, Message.kind, Message.status)
            ).all()
            for direction, kind, status, n in rows:
                out[f"text {direction}/{kind}/{status}"] = int(n)
            new_check_ins = CheckIn.id > before.get("check_ins_max_id", 0)
            out["check-ins opened"] = int(
                conn.scalar(select(func.count()).where(new_check_ins)) or 0
            )
            out["check-ins answered"] = int(
                conn.scalar(
                    select(func.count()).where(
                        CheckIn.answered_at.is_not(None),
                        CheckIn.answered_at >= taken_at,
                    )
                )
                or 0
            )
            out["successes"] = int(
                conn.scalar(
                    select(func.count()).where(Success.id > before.get("successes_max_id", 0))
                )
                or 0
            )
            # Texts write none: these are the bare webhook's, one for each of its requests.
            out["call records"] = int(conn.scalar(select(func.count()).select_from(Call)) or 0) - (
                before.get("calls", 0)
            )
    finally:
        engine.dispose()
    return out


# --- the profile's named costs -------------------------------------------------------------

# The text handler's (app/twilio/sms.py), then what every webhook has (harness): edit the
# handler's lines here when it changes. The texts of one turn of the event loop are answered
# together in a loop callback (`Gather._answer_all` running `answer_texts`): who texted in
# one statement, then every text's rows in one transaction, each kind in one statement.
SMS_COSTS: harness.Costs = [
    (
        "event-loop thread: uvicorn, routing, form, signature, response",
        fn("_run_module_as_main", "runpy"),
    ),
    ("whole incoming_text handler (app/twilio/sms.py)", fn("incoming_text", "app/twilio")),
    ("  the per-number rate limit", fn("text_allowed")),
    ("  to_e164 (phonenumbers, cached)", fn("to_e164")),
    ("  message_twiml: the reply's TwiML", fn("message_twiml")),
    ("the group's work (Gather._answer_all running answer_texts)", fn("_answer_all", "app/gather")),
    (
        "  texters_by_phone: the clients, therapists, lockouts, check-ins (one statement)",
        fn("texters_by_phone", "app/callers"),
    ),
    ("  _therapists_by_phone: senders who are therapists", fn("_therapists_by_phone")),
    ("  Line.practice: the practice's settings (cached)", fn("current_settings")),
    ("  all_skills: practice_skills query + library (cached)", fn("all_skills")),
    ("  _save_round: the round's answers and rows", fn("_save_round", "app/twilio/sms")),
    ("    _answer: each text's decision, before any write", fn("_answer", "app/twilio/sms")),
    ("      handle_sms: the text flow (ivr/)", fn("handle_sms", "ivr/")),
    ("        classify: what the text means (ivr/texts)", fn("classify", "ivr/texts")),
    ("      _digest_due: today's success digest lookup", fn("_digest_due")),
    ("      on_call_now (crisis notices)", fn("on_call_now", "app/")),
    ("    _record_inbounds: the inbound texts, once per MessageSid", fn("_record_inbounds")),
    ("    execute_many: the replies, then each other kind of row", fn("execute_many")),
    ("    queue_text: opted-out lookup + the queued row", fn("queue_text", "app/notify")),
    ("  the group's transaction: commit", fn("commit", "sqlalchemy/engine")),
    *harness.FORM_COSTS,
    ("  one HMAC over the configured URL", fn("expected_signature", "app/twilio")),
    ("  RequestValidator.validate (when that does not match)", fn("validate", "request_validator")),
    *harness.SQLALCHEMY_COSTS,
    ("  connection checkout (pool)", fn("_checkout", "sqlalchemy/pool")),
    *harness.FRAMEWORK_COSTS,
    ("anyio thread pool hop", in_file("anyio/")),
]


# --- the report ----------------------------------------------------------------------------


def render_state(result: StateResult) -> str:
    seeded = result.seeded
    lines = [
        "",
        f"== {result.db}, {result.state} database: "
        f"{seeded.get('therapists', 0):,} therapists, {seeded.get('clients', 0):,} clients, "
        f"{seeded.get('calls', 0):,} calls, {seeded.get('messages', 0):,} texts, "
        f"{seeded.get('check_ins', 0):,} check-ins, {seeded.get('successes', 0):,} successes, "
        f"{seeded.get('lockouts', 0):,} lockouts "
        f"(migrated in {result.migrate_seconds:.1f} s, seeded in {result.seed_seconds:.1f} s)",
        "",
    ]
    lines += harness.runs_report(result, "SMS webhook")
    before, after = result.db_before, result.db_after
    lines.append(
        f"  texts table: {before.get('messages', 0):,} -> {after.get('messages', 0):,} rows "
        f"for {result.webhook_requests_sent:,} webhook requests (warm-up, profiling and the "
        f"SQL timing included); {result.bare_requests_sent:,} bare webhook requests"
    )
    lines.append(
        "  written: "
        + ", ".join(
            f"{k} {n:,}" for k, n in sorted(result.written.items(), key=lambda kv: -kv[1]) if n
        )
    )
    lines += harness.server_report(
        result, f"SQL of one incoming text ({result.db}, {result.state}, the same mix)"
    )
    return "\n".join(lines)


# --- the command ---------------------------------------------------------------------------


def _add_arguments(parser) -> None:
    parser.add_argument(
        "--texts",
        type=int,
        help="inbound texts in the full database's year of history, each with its reply "
        "(500,000; --quick 50,000)",
    )


def main(argv: list[str] | None = None) -> int:
    options, args = harness.parse_args(
        argv,
        prog="python -m bench.sms_webhook",
        description="Throughput and latency of POST /twilio/sms against a static-TwiML ceiling.",
        add_arguments=_add_arguments,
    )
    texts = args.texts if args.texts is not None else (50_000 if args.quick else 500_000)
    if texts < 0:
        sys.exit("--texts: 0 or more")

    def seed_more(url: str, opts: Options, progress) -> dict[str, int]:
        return seed_text_history(url, texts, seed_value=opts.seed, progress=progress)

    webhook = Webhook(
        name="sms_webhook",
        label="SMS webhook",
        path=WEBHOOK_PATH,
        make_requests=make_requests,
        classifier=webhook_classifier,
        costs=SMS_COSTS,
        rng_suffix="-sms_webhook",
        seed_more=seed_more if texts else None,
        snapshot=snapshot,
        written=written,
    )
    shares = mix_shares()
    mix = ", ".join(f"{kind} {share:.0f}%" for kind, share in shares)
    return harness.main(
        webhook,
        options,
        args,
        title="coachline SMS-webhook benchmark",
        render_state=render_state,
        extra_json={"texts": texts, "mix": dict(shares)},
        preface=[
            f"full database: a year of texting, {texts:,} inbound texts with their replies",
            f"texts sent: {mix} (crisis language queues a text to a therapist; ratings answer "
            f"a check-in sent {FOLLOW_GAP[0]}-{FOLLOW_GAP[1]} requests earlier)",
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
