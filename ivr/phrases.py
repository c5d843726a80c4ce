"""The phrases that mark a text as crisis language or a plea for contact, in English and in
Spanish, and the idioms taken out before matching: folded forms (lower case, accents
dropped, apostrophes removed; `ivr.texts.fold`). `ivr.texts` matches them as whole words.
"""

from __future__ import annotations


def _phrases(table: str) -> tuple[str, ...]:
    """Phrases written several to a line, separated by commas (folded forms); a line that
    starts with # is a heading."""
    lines = [line for line in table.splitlines() if not line.strip().startswith("#")]
    return tuple(p.strip() for line in lines for p in line.split(",") if p.strip())


# Keep each one tested in tests/test_ivr_texts.py and tests/test_spanish_texts.py.
CRISIS_PHRASES: tuple[str, ...] = _phrases("""
    # suicide, by name
    suicide, suicides, suicidal, kill myself, kill my self, killmyself, killing myself
    killed myself, kms, unalive myself, end my life, ending my life, end my own life
    end it all, ending it all, take my life, take my own life, taking my life
    taking my own life, want to die, wanna die, want to be dead, wish i was dead
    wish i were dead, better off dead, better off without me, not want to be alive
    dont want to be alive, not want to live, dont want to live, no reason to live
    not worth living, hang myself, shoot myself
    # self-harm
    hurt myself, hurting myself, harm myself, harming myself, self harm, self harming
    self harmed, selfharm, self injury, self injure, self injuring, cut myself
    cutting myself, burn myself, burning myself
    # overdose
    overdose, overdosed, overdosing, too many pills, going to od, gonna od, want to od
""")
PLEA_PHRASES: tuple[str, ...] = _phrases("""
    # asking for a person
    call me, someone call, somebody call, anyone call, can you call, could you call
    please call, pls call, need a call, want a call, call back, talk to someone
    talk to somebody, talk to anyone, talk to my therapist, talk to my coach
    speak to someone, speak with someone, need to talk, need someone, need somebody
    need my therapist, need my coach, need help, need support, help me, please help
    help please
    # not coping
    struggling, cant cope, can not cope, cannot cope, not coping, falling apart
    cant do this, cant take it, cant take this, freaking out, panic attack, panicking
    having a hard time, really hard time, not okay, not ok, losing it, overwhelmed
""")
# Idioms taken out before matching (never a whole phrase above, so other phrases still match).
CRISIS_IDIOMS: tuple[str, ...] = ("cut myself some slack", "cutting myself some slack")

# Spanish, folded (accents dropped: "me corté" is "me corte"), grouped a line a theme.
SPANISH_CRISIS_PHRASES: tuple[str, ...] = _phrases("""
    suicidio, suicidios, suicida, suicidas, suicidarme, suicidarse, suicidar, suicidare
    me suicido, me suicide, suicidandome
    matarme, me quiero matar, me voy a matar, quitarme la vida, acabar con mi vida
    terminar con mi vida, poner fin a mi vida, acabar con todo
    quiero morir, quiero morirme, me quiero morir, quisiera morir, quisiera morirme
    me quisiera morir, ganas de morir, ganas de morirme, deseo morir, deseo morirme
    prefiero morir, prefiero morirme, quiero estar muerto, quiero estar muerta
    mejor muerto, mejor muerta, ojala estuviera muerto, ojala estuviera muerta
    ojala me muera, ojala me muriera, no quiero vivir, no quiero seguir viviendo
    no quiero estar vivo, no quiero estar viva, no vale la pena vivir
    sin razon para vivir, ninguna razon para vivir, no tengo razon para vivir
    no tengo razones para vivir, ahorcarme, pegarme un tiro, darme un tiro, dispararme
    hacerme dano, hacerme mucho dano, me hice dano, me hago dano, haciendome dano
    lastimarme, me lastime, lastimandome, autolesion, autolesiones, autolesionarme
    autolesionarse, autolesione, auto lesion, auto lesiones, autodano, auto dano
    cortarme, me corte, me corto, cortandome, me estoy cortando, me quiero cortar
    sobredosis, demasiadas pastillas, tomarme todas las pastillas
    me tome todas las pastillas, tomarme todas mis pastillas, me tome todas mis pastillas
""")
SPANISH_IDIOMS: tuple[str, ...] = _phrases("""
    va a matarme, van a matarme, vas a matarme, me va a matar, me van a matar
    matarme de risa, matarme trabajando, matarme estudiando
    me voy a matar trabajando, me voy a matar estudiando, me voy a matar de risa
    morir de verguenza, morir de la verguenza, morirme de verguenza
    morirme de la verguenza, morir de risa, morirme de risa
    cortarme el pelo, cortarme el cabello, cortarme las unas, me corte el pelo
    me corte el cabello, me corte las unas, me corto el pelo, me corto el cabello
    me corto las unas, se me corto la llamada, se me corte la llamada, se me corto la senal
""")
SPANISH_PLEA_PHRASES: tuple[str, ...] = _phrases("""
    llamame, llameme, llamenme, me puede llamar, me pueden llamar, me puedes llamar
    puede llamarme, pueden llamarme, necesito una llamada, quiero una llamada
    devuelvame la llamada, hablar con alguien, necesito hablar, quiero hablar con
    hablar con mi terapeuta, necesito a mi terapeuta, necesito ayuda, necesito apoyo
    ayudame, ayudeme, ayudenme, ayuda por favor, por favor ayuda
    no puedo mas, ya no puedo, no aguanto, no lo soporto, no puedo con esto
    estoy muy mal, me siento muy mal, no estoy bien, estoy mal, ataque de panico
    ataque de ansiedad, me estoy desmoronando, abrumado, abrumada, desesperado, desesperada
    la estoy pasando mal, lo estoy pasando mal, estoy luchando, no se que hacer
""")
