"""Voice-balanced selection of training utterances (pure: no torch)."""
from dataclasses import dataclass

from inference.training.selection import select_by_voice


@dataclass(frozen=True)
class Utt:
    key: str
    voice: str
    split: str
    duration: float          # seconds
    source: str | None = None


def corpus():
    utts = [Utt(f"c/en/big/{i:03d}", "big", "train", 30.0) for i in range(100)]        # 50 min
    utts += [Utt(f"c/en/small/{i:03d}", "small", "train", 30.0) for i in range(10)]     # 5 min
    utts += [Utt(f"c/en/big/v{i}", "big", "valid", 30.0) for i in range(5)]
    return utts


def minutes(utts, voice, split="train"):
    return sum(u.duration for u in utts if u.voice == voice and u.split == split) / 60.0


def test_caps_each_voice_and_keeps_validation_whole():
    chosen = select_by_voice(corpus(), {"big": 10.0}, default_minutes=2.0, seed=0)
    assert minutes(chosen, "big") == 10.0
    assert minutes(chosen, "small") == 2.0
    assert minutes(chosen, "big", "valid") == 2.5


def test_no_caps_keeps_everything_and_selection_is_deterministic():
    utts = corpus()
    assert select_by_voice(utts, None, None) == utts
    a = select_by_voice(utts, {"big": 10.0}, 2.0, seed=3)
    b = select_by_voice(list(reversed(utts)), {"big": 10.0}, 2.0, seed=3)
    assert {u.key for u in a} == {u.key for u in b}          # input order does not matter
    assert {u.key for u in a} != {u.key for u in select_by_voice(utts, {"big": 10.0}, 2.0, seed=4)}


def test_augmented_copies_follow_their_source_and_do_not_count_against_the_cap():
    utts = corpus()
    utts += [Utt(f"aug/en/big/{i:03d}-aug0.0", "big", "train", 30.0, source=f"{i:03d}")
             for i in range(100)]
    chosen = select_by_voice(utts, {"big": 10.0}, default_minutes=2.0, seed=0)
    clean = {u.key.rsplit("/", 1)[-1] for u in chosen if u.voice == "big" and u.source is None
             and u.split == "train"}
    copies = {u.source for u in chosen if u.source is not None}
    assert len(clean) == 20 and copies == clean            # 10 min of sources, each with its copy
    assert minutes(chosen, "big") == 20.0


def test_uncapped_corpora_are_kept_whole_and_leave_the_capped_choice_alone():
    utts = corpus()
    targeted = [Utt(f"closures/en/big/{i:03d}", "big", "train", 30.0) for i in range(30)]
    before = select_by_voice(utts, {"big": 10.0}, default_minutes=2.0, seed=0)
    after = select_by_voice(utts + targeted, {"big": 10.0}, default_minutes=2.0, seed=0,
                            uncapped={"closures"})
    assert [u for u in after if u.key.startswith("closures/")] == targeted   # all, in order
    assert [u for u in after if not u.key.startswith("closures/")] == before  # same capped set
    assert minutes(after, "big") == 10.0 + 15.0
    capped = select_by_voice(utts + targeted, {"big": 10.0}, default_minutes=2.0, seed=0)
    assert minutes(capped, "big") == 10.0                 # named nowhere: under the cap again


def test_an_uncapped_corpus_needs_a_folder_name_of_its_own():
    """Selection tells corpora apart by folder name, so a config whose uncapped corpus shares a
    capped one's name (which would lift the caps off both) is refused in one sentence."""
    import pytest

    from inference.training.config import TrainConfig
    ok = TrainConfig(corpora=("data/corpus",), uncapped_corpora=("data/corpus-closures",))
    assert ok.uncapped_names == {"corpus-closures"}
    with pytest.raises(ValueError, match="folder name of its own"):
        TrainConfig(corpora=("data/corpus",), uncapped_corpora=("other/corpus",))
