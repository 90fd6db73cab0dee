"""Phone notations -> internal phones: ARPAbet, espeak-ng IPA, Open JTalk, kana; classes; labels."""
from __future__ import annotations

import pytest

from inference.articulation import frame_phone_labels, kana_to_phones, normalize, phone_class
from inference.articulation.inventory import INVENTORY
from inference.articulation.phones import known_symbols

CMU = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH "
       "UW V W Y Z ZH").split()
OPENJTALK = ("a i u e o A I U E O N cl pau sil k g s sh z j t ch ts d n h f b p m y r w v ky gy "
             "ny hy by py my ry dy ty").split()


def phones_of(symbols, notation, lang=None, dur=0.1):
    timed = [(s, i * dur, (i + 1) * dur) for i, s in enumerate(symbols)]
    return [seg.phone for seg in normalize(timed, notation, lang)]


def test_every_cmu_symbol_with_every_stress_digit_is_known():
    for sym in CMU:
        for suffix in ("", "0", "1", "2"):
            segs = normalize([(sym + suffix, 0.0, 0.1)], "arpabet")
            assert all(seg.phone in INVENTORY for seg in segs)


def test_arpabet_stress_case_schwa_and_silences():
    assert phones_of(["AH1", "AH0", "ah1", "IY1", "sil", "sp", "pau", "SIL"], "arpabet") == [
        "ʌ", "ə", "ʌ", "i", "sil", "sil", "sil", "sil"]
    assert phones_of(["M", "AE1", "P"], "arpabet") == ["m", "æ", "p"]


def test_arpabet_diphthong_becomes_two_targets_splitting_its_time():
    segs = normalize([("AY1", 1.0, 1.17)], "arpabet")
    assert [s.phone for s in segs] == ["a", "ɪ"]
    assert segs[0].start == 1.0 and segs[-1].end == 1.17
    assert segs[0].end == pytest.approx(1.0 + 0.17 / 1.7)        # weights 1 : 0.7
    assert segs[0].end - segs[0].start > segs[1].end - segs[1].start


def test_affricates_stay_one_phone():
    assert phones_of(["CH", "JH"], "arpabet") == ["tʃ", "dʒ"]
    assert phones_of(["tʃ", "d͡ʒ", "ts"], "ipa") == ["tʃ", "dʒ", "ts"]


@pytest.mark.parametrize("notation,symbol", [("arpabet", "XX1"), ("arpabet", "QQ"),
                                             ("openjtalk", "kk"), ("openjtalk", "AA"),
                                             ("ipa", "ʘ")])
def test_unknown_symbols_raise_naming_the_symbol(notation, symbol):
    with pytest.raises(ValueError, match=symbol):
        normalize([("sil", 0.0, 0.1), (symbol, 0.1, 0.2)], notation)


def test_bad_timings_and_notation_raise_clear_errors():
    with pytest.raises(ValueError, match="end >= start"):
        normalize([("a", 0.3, 0.2)], "openjtalk")
    with pytest.raises(ValueError, match="sort the phones"):
        normalize([("a", 0.3, 0.4), ("i", 0.1, 0.2)], "openjtalk")
    with pytest.raises(ValueError, match="symbol, start_seconds, end_seconds"):
        normalize([("a", 0.3)], "openjtalk")
    with pytest.raises(ValueError, match="notation"):
        normalize([("a", 0.0, 0.1)], "sampa")


def test_espeak_english_ipa_strips_stress_and_length_and_splits_diphthongs():
    segs = normalize([("ˈaɪ", 0.0, 0.2), ("iː", 0.2, 0.3), ("ɚ", 0.3, 0.4), ("n̩", 0.4, 0.5),
                      ("ˌoʊ", 0.5, 0.6), ("ɾ", 0.6, 0.65), ("ʔ", 0.65, 0.7), ("ɐ", 0.7, 0.8)],
                     "ipa", "en")
    assert [s.phone for s in segs] == ["a", "ɪ", "i", "ɚ", "n", "o", "ʊ", "ɾ", "ʔ", "ə"]
    assert segs[2].long and not segs[0].long


def test_piper_code_points_give_stress_to_the_next_phone_and_length_to_the_last():
    segs = normalize([("m", 0.0, 0.05), ("ˈ", 0.05, 0.06), ("i", 0.06, 0.1), ("ː", 0.1, 0.15),
                      (" ", 0.15, 0.17), ("n", 0.17, 0.2), ("ˌ", 0.2, 0.21)], "ipa", "en")
    assert [(s.phone, s.start, s.end, s.long) for s in segs] == [
        ("m", 0.0, 0.05, False), ("i", 0.05, 0.15, True), ("n", 0.15, 0.21, False)]


def test_espeak_japanese_ipa_diacritics_and_context_spellings():
    # ありがとう as espeak-ng ja writes it, with its centralised/lowered/compressed marks
    assert phones_of(["ä", "ɽ", "i", "ɡ", "ä", "t", "ˈo̞", "ɯᵝ"], "ipa", "ja") == [
        "a", "ɾ", "i", "g", "a", "t", "o", "ɯ"]
    assert phones_of(["ɕ", "dʑ", "tɕ", "c\u0327", "ɸ", "ɲ"], "ipa", "ja") == [
        "ɕ", "dʑ", "tɕ", "ç", "ɸ", "ɲ"]
    # ん: ũ before p (さんぽ), ŋ before k (さんか), m before m (さんま), ɴ at the end
    assert phones_of(["s", "ä", "ũ", "p", "o̞"], "ipa", "ja")[2] == "N"
    assert phones_of(["s", "ä", "ŋ", "k", "ä"], "ipa", "ja")[2] == "N"
    assert phones_of(["s", "ä", "m", "m", "ä"], "ipa", "ja")[2:4] == ["N", "m"]
    assert phones_of(["ɸ", "ɯᵝ", "ɴ"], "ipa", "ja")[-1] == "N"
    assert phones_of(["n", "ä"], "ipa", "ja")[0] == "n"           # な: a plain n
    # っ: a doubled consonant (きって) or h before p (いっぱい)
    assert phones_of(["k", "i", "t", "t", "e̞"], "ipa", "ja") == ["k", "i", "Q", "t", "e"]
    assert phones_of(["i", "h", "p", "ä", "i"], "ipa", "ja") == ["i", "Q", "p", "a", "i"]
    # in English the same nasalised vowel stays a vowel
    assert phones_of(["ũ"], "ipa", "en") == ["u"]


def test_espeak_ng_output_is_fully_understood():
    """Every phoneme espeak-ng writes for these sentences converts (en-us and ja voices)."""
    espeak = pytest.importorskip("piper.phonemize_espeak")
    phonemizer = espeak.EspeakPhonemizer()
    texts = {"en-us": ["The quick brown fox jumps over the lazy dog.",
                       "Thank you, which judge? Boy, how are you! Measure the church bottle.",
                       "Five vans, we knew a map; rhythm, button, kitten, water."],
             "ja": ["ありがとう、さんぽ、さんか。", "きって、いっぱい、がっこう、しんぶん。",
                    "ファイル、ヴァイオリン、ティー、ひょう、りょこう、ぎゅうにゅう。"]}
    for voice, sentences in texts.items():
        lang = voice.split("-")[0]
        for text in sentences:
            for sentence in phonemizer.phonemize(voice, text):
                symbols = [s for s in sentence if s.strip()]
                segs = normalize([(s, i * 0.05, (i + 1) * 0.05) for i, s in enumerate(symbols)],
                                 "ipa", lang)
                assert all(seg.phone in INVENTORY for seg in segs)


def test_every_openjtalk_phone_is_known_and_devoicing_kept():
    for sym in OPENJTALK:
        assert all(p in INVENTORY for p in phones_of([sym], "openjtalk"))
    assert phones_of(["d", "e", "s", "U"], "openjtalk") == ["d", "e", "s", "ɯ̥"]
    assert phones_of(["k", "i", "cl", "t", "e"], "openjtalk") == ["k", "i", "Q", "t", "e"]
    assert phones_of(["s", "a", "N", "p", "o"], "openjtalk") == ["s", "a", "N", "p", "o"]
    assert phones_of(["sh", "ch", "j", "ky", "ny", "hy"], "openjtalk") == [
        "ɕ", "tɕ", "dʑ", "kʲ", "ɲ", "ç"]


def test_kana_to_phones_seed_words_and_marks():
    assert kana_to_phones("さんぽ") == ["s", "a", "N", "p", "o"]
    assert kana_to_phones("サンカ") == ["s", "a", "N", "k", "a"]
    assert kana_to_phones("ありがたい") == ["a", "r", "i", "g", "a", "t", "a", "i"]
    assert kana_to_phones("きって") == ["k", "i", "cl", "t", "e"]
    assert kana_to_phones("コーヒー") == ["k", "o", "o", "h", "i", "i"]
    assert kana_to_phones("しゃしん") == ["sh", "a", "sh", "i", "N"]
    assert kana_to_phones("きゃく") == ["ky", "a", "k", "u"]
    assert kana_to_phones("ティー") == ["t", "i", "i"]
    assert kana_to_phones("はい、そう。") == ["h", "a", "i", "pau", "s", "o", "o"]
    assert kana_to_phones("ひらがな") == kana_to_phones("ヒラガナ")
    with pytest.raises(ValueError, match="漢"):
        kana_to_phones("漢字")
    # every symbol kana_to_phones writes is an Open JTalk phone normalize reads
    normalize([(p, 0.0, 0.1) for p in kana_to_phones("ヴァイオリンとファイルとウィンドウ")], "openjtalk")


def test_kana_to_phones_agrees_with_open_jtalk():
    pyopenjtalk = pytest.importorskip("pyopenjtalk")
    words = ("ありがとう さんぽ さんか きって ちょっと まって おかあさん ファイル ティー デュエット "
             "ヴァイオリン しゃしんを ひょう りょこう ぎゅうにゅう びょういん みゃく にゃあ ぴゃく "
             "ウィンドウ シェフ チェック ジェット ツァー フォーク コーヒー がっこう しんぶん きゃく "
             "フュージョン とうきょう").split()
    for word in words:
        assert " ".join(kana_to_phones(word)) == pyopenjtalk.g2p(word), word


def test_phone_classes_for_evaluation():
    def cls(symbol, notation="arpabet"):
        return phone_class(normalize([(symbol, 0.0, 0.1)], notation)[0].phone)
    for sym in ("P", "B", "M"):
        assert "bilabial" in cls(sym)
    for sym in ("F", "V"):
        assert "labiodental" in cls(sym) and "bilabial" not in cls(sym)
    for sym in ("AA1", "AE1", "AH1"):
        assert "open_vowel" in cls(sym)
    for sym in ("UW1", "OW1", "UH1", "AO1", "W"):
        assert "rounded_vowel" in cls(sym), sym
    for sym in ("IY1", "IH1", "EH1"):
        assert "spread_vowel" in cls(sym)
    assert "silence" in cls("sil")
    assert "bilabial" not in cls("f", "openjtalk")                # ɸ: lips do not close
    assert "spread_vowel" not in cls("I", "openjtalk")            # devoiced: not counted
    assert "devoiced_vowel" in cls("I", "openjtalk")
    classes = [phone_class(p) for p in INVENTORY]
    assert not any({"open_vowel", "rounded_vowel"} <= c for c in classes)
    assert not any({"spread_vowel", "rounded_vowel"} <= c for c in classes)
    with pytest.raises(ValueError, match="AA"):
        phone_class("AA")


def test_frame_phone_labels_at_frame_times():
    phones = [("sil", 0.0, 0.1), ("M", 0.1, 0.15), ("AA1", 0.15, 0.3)]
    labels = frame_phone_labels(phones, "arpabet", 50.0, 20)   # frame k at k * 20 ms
    assert labels[:5] == ["sil"] * 5                   # 0 .. 80 ms
    assert labels[5:8] == ["m"] * 3                    # 100, 120, 140 ms
    assert labels[8:15] == ["ɑ"] * 7                   # 160 .. 280 ms
    assert labels[15:] == [None] * 5                   # after the last phone


def test_espeak_japanese_affricate_ligatures_read_as_their_two_letter_forms():
    # espeak-ng's Japanese voice writes ち as ʨ and じ as ʥ (one code point each).
    from inference.articulation import normalize
    lig = normalize([("ʨ", 0.0, 0.1), ("ʥ", 0.1, 0.2)], "ipa", lang="ja")
    two = normalize([("tɕ", 0.0, 0.1), ("dʑ", 0.1, 0.2)], "ipa", lang="ja")
    assert [seg[0] for seg in lig] == [seg[0] for seg in two]
