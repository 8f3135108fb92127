"""Evaluation protocols: source frames, held-back frames, windows, and cross pairs that never pair a person
with themself (read from the shared media's MANIFEST.md and from a plain groups file)."""

import os

from portrait_animator.evaluate.identity_groups import IdentityGroups
from portrait_animator.evaluate.protocols import (STILL_EXTENSIONS, VIDEO_EXTENSIONS, clip_name, cross_pairs,
                                                  find_files, middle_window, self_case, spread)

from conftest import media_path


def test_sources_are_spread_over_the_clip_and_never_scored():
    with_face = [n for n in range(1, 101) if n not in (1, 2, 50)]  # frames 1, 2 and 50 have no face
    case = self_case("clip.mp4", 8, with_face, list(range(1, 101)), max_frames=40)
    assert case.sources[0] == 3 and case.sources[-1] == 100 and len(case.sources) == 8
    assert all(s in with_face for s in case.sources)
    assert case.window == tuple(range(31, 71))  # the middle 40 frames
    assert not set(case.held_back) & set(case.sources)
    assert set(case.held_back) | (set(case.sources) & set(case.window)) == set(case.window)
    one = self_case("clip.mp4", 1, with_face, list(range(1, 101)), max_frames=40)
    assert one.sources == (3,) and one.held_back == one.window  # the still is the first frame with a face
    assert one.case_id == "self-k1/clip" and case.group == "self-k8"


def test_spread_and_window_edges():
    assert spread(range(1, 12), 3) == (1, 6, 11)
    assert spread(range(1, 4), 8) == (1, 2, 3)
    assert middle_window(range(1, 11), None) == tuple(range(1, 11))
    assert middle_window(range(1, 11), 4) == (4, 5, 6, 7)


def test_manifest_groups_keep_people_apart():
    groups = IdentityGroups.load(str(media_path("MANIFEST.md")))
    assert groups.same_person("stills/avatarify_obama.jpg", "lia_vox_obama.mov")
    assert groups.same_person("sadtalker_ref_aoc.mp4", "retalking_face3_aoc")
    assert groups.same_person("dreamtalk_mead_m030_angry.mp4", "dreamtalk_mead_m030_sad.mp4")  # a glob group
    assert not groups.same_person("lp_d0.mp4", "lp_d3.mp4")
    assert not groups.same_person("avatarify_obama.jpg", "lp_d0.mp4")


def test_cross_pairs_on_the_shared_media_are_of_different_people():
    folder = media_path("driving")
    clips = find_files(str(folder), VIDEO_EXTENSIONS)
    stills = find_files(str(media_path("stills")), STILL_EXTENSIONS)
    groups = IdentityGroups.find_beside(str(folder))
    assert groups.source and groups.source.endswith("MANIFEST.md")
    pairs = cross_pairs(stills, clips, groups)
    assert len(pairs) == max(len(stills), len(clips))
    assert {c for _, c in pairs} == set(clips)
    assert {s for s, _ in pairs} == set(stills)
    assert not any(groups.same_person(clip_name(s), clip_name(c)) for s, c in pairs)
    assert cross_pairs(stills, clips, groups) == pairs  # deterministic


def test_a_still_is_never_paired_with_its_own_person(tmp_path):
    groups_file = tmp_path / "groups.txt"
    groups_file.write_text("# who is who\nann.png, ann_talks.mp4 ann_smiles.mp4\n")
    groups = IdentityGroups.load(str(groups_file))
    pairs = cross_pairs(["ann.png", "bob.png"], ["ann_talks.mp4", "ann_smiles.mp4", "carl.mp4"], groups)
    assert ("ann.png", "ann_talks.mp4") not in pairs and ("ann.png", "ann_smiles.mp4") not in pairs
    assert {c for _, c in pairs} == {"ann_talks.mp4", "ann_smiles.mp4", "carl.mp4"}
    only_ann = cross_pairs(["ann.png"], ["ann_talks.mp4"], groups)
    assert only_ann == []


def test_media_discovery_skips_other_files(tmp_path):
    for name in ("b.mp4", "a.MOV", "notes.txt", ".hidden.mp4", "face.png"):
        (tmp_path / name).write_bytes(b"x")
    assert [os.path.basename(p) for p in find_files(str(tmp_path), VIDEO_EXTENSIONS)] == ["a.MOV", "b.mp4"]
    assert [os.path.basename(p) for p in find_files(str(tmp_path), STILL_EXTENSIONS)] == ["face.png"]


def test_more_cross_pairs_than_stills_or_clips_are_all_different():
    """Asked for more pairs than there are stills or clips, the pairing went round the clips again with the
    same stills: each case four times over, measured four times."""
    stills, clips = ["a.png", "b.png", "c.png"], ["x.mp4", "y.mp4"]
    pairs = cross_pairs(stills, clips, IdentityGroups([]), count=5)
    assert len(pairs) == 5 and len(set(pairs)) == 5
    every = cross_pairs(stills, clips, IdentityGroups([]), count=12)
    assert sorted(every) == sorted((s, c) for s in stills for c in clips)  # all six, none twice
