"""The registry characters' rewrite (registry_characters.py): a glTF binary whose buffers are
meshoptimizer-compressed and whose texture is KTX2 becomes one that Blender's importer reads,
with the same bytes in every buffer view.

The compressed file is built here with meshoptimizer's own encoder (PyPI meshopt), the way
gltfpack writes Face Cap's head: the views' data in a fallback buffer with no bytes, the
compressed streams in the .glb's own buffer. The real head, fetched from PyPI, is imported and
measured by test_characters.py.
"""
import json

import numpy as np
import pytest

import registry_characters as R

meshopt = pytest.importorskip("meshopt")


def packed_glb():
    """(a compressed .glb, {view index: the bytes it must decode to})."""
    rng = np.random.default_rng(0)
    positions = rng.integers(0, 2 ** 14, size=(40, 4)).astype(np.uint16)   # quantised, stride 8
    triangles = np.array([(i, i + 1 + i % 2, i + 2 - i % 2) for i in range(38)],
                         np.uint16).ravel()                  # a strip of 38 triangles
    image = bytes(range(7))                                # a "KTX2" blob, not compressed
    streams = [meshopt.encode_gltf_buffer(positions, "ATTRIBUTES"),
               meshopt.encode_gltf_buffer(triangles, "TRIANGLES")]
    binary, views = bytearray(image + b"\0"), [{"buffer": 0, "byteOffset": 0, "byteLength": 7}]
    fallback = 0
    for stream, data, mode, stride in zip(streams, (positions, triangles),
                                          ("ATTRIBUTES", "TRIANGLES"), (8, 2)):
        ext = {"buffer": 0, "byteOffset": len(binary), "byteLength": len(stream),
               "byteStride": stride, "mode": mode, "count": data.size * 2 // stride}
        binary += stream + b"\0" * (-len(stream) % 4)
        views.append({"buffer": 1, "byteOffset": fallback, "byteLength": data.nbytes,
                      "extensions": {"EXT_meshopt_compression": ext}})
        fallback += data.nbytes
    gltf = {"asset": {"version": "2.0"}, "bufferViews": views,
            "buffers": [{"byteLength": len(binary)},
                        {"byteLength": fallback,
                         "extensions": {"EXT_meshopt_compression": {"fallback": True}}}],
            "images": [{"bufferView": 0, "mimeType": "image/ktx2"}],
            "textures": [{"extensions": {"KHR_texture_basisu": {"source": 0}}}],
            "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0},
                                                    "metallicFactor": 0}}],
            "extensionsUsed": ["KHR_mesh_quantization", "EXT_meshopt_compression",
                               "KHR_texture_basisu"],
            "extensionsRequired": ["KHR_mesh_quantization", "EXT_meshopt_compression",
                                   "KHR_texture_basisu"]}
    return R.write_glb(gltf, bytes(binary)), {0: image, 1: positions.tobytes(),
                                              2: triangles.tobytes()}


def rotated(data: bytes) -> list:
    """Triangles (uint16 bytes), each turned to start at its smallest corner, in order."""
    tris = np.frombuffer(data, np.uint16).reshape(-1, 3)
    return [tuple(np.roll(t, -int(np.argmin(t)))) for t in tris]


def test_compressed_views_decode_to_their_bytes_and_the_texture_goes():
    packed, want = packed_glb()
    gltf, binary = R.read_glb(R.plain_glb(packed))
    assert gltf["buffers"] == [{"byteLength": len(binary)}]
    got = {}
    for i, view in enumerate(gltf["bufferViews"]):
        assert "extensions" not in view and view["buffer"] == 0
        assert view["byteOffset"] % 4 == 0
        got[i] = binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]]
    assert got[0] == want[0] and got[1] == want[1]
    # the index codec keeps each triangle and its winding, not which corner comes first
    assert rotated(got[2]) == rotated(want[2])
    assert "textures" not in gltf and "images" not in gltf
    assert gltf["materials"] == [{"pbrMetallicRoughness": {"metallicFactor": 0}}]
    assert gltf["extensionsUsed"] == gltf["extensionsRequired"] == ["KHR_mesh_quantization"]


def test_a_glb_round_trips_with_its_chunks_padded():
    gltf = {"asset": {"version": "2.0"}, "buffers": [{"byteLength": 5}]}
    data = R.write_glb(gltf, b"\1\2\3\4\5")
    assert len(data) % 4 == 0 and int.from_bytes(data[8:12], "little") == len(data)
    back, binary = R.read_glb(data)
    assert back == gltf and binary[:5] == b"\1\2\3\4\5"
    with pytest.raises(ValueError, match="glTF 2.0 binary"):
        R.read_glb(json.dumps(gltf).encode())
