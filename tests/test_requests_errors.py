"""Bad requests fail loudly and name the part; remote URLs are refused and never opened."""

from __future__ import annotations

import base64
import json
import re
import socket
import urllib.request

import pytest

import mediafactory as mf
import tokenmeter as tm
from tokenmeter._requests._media import Base64File, clean_base64

QWEN = "qwen2.5-vl-72b-instruct"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png_url(size: tuple[int, int] = (64, 48)) -> str:
    return "data:image/png;base64," + b64(mf.image("PNG", size))


def chat(*parts: dict, role: str = "user") -> dict:
    return {"messages": [{"role": "system", "content": "be brief"},
                         {"role": role, "content": list(parts)}]}


# -- remote references ------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any attempt to open a socket or a URL fails the test loudly."""
    touched: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        touched.append(repr(args))
        raise AssertionError(f"tokenmeter tried to reach the network: {args!r}")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return touched


@pytest.mark.parametrize(("shape", "request_body", "where"), [
    ("openai", chat({"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}),
     "messages[1].content[0]"),
    ("openai", chat({"type": "video_url", "video_url": {"url": "http://example.com/v.mp4"}}),
     "messages[1].content[0]"),
    ("dashscope", {"model": "qwen-vl-max", "input": {"messages": [
        {"role": "user", "content": [{"text": "hi"}, {"image": "https://example.com/x.jpg"}]}]}},
     "input.messages[0].content[1]"),
    ("dashscope", {"messages": [{"role": "user", "content": [
        {"video": ["https://example.com/1.jpg", "https://example.com/2.jpg"]}]}]},
     "messages[0].content[0].video[0]"),
])
def test_remote_urls_are_refused_and_never_opened(no_network, shape, request_body, where):
    with pytest.raises(tm.InvalidInputError) as err:
        tm.count_request(QWEN, request_body, shape=shape)
    msg = str(err.value)
    assert where in msg
    assert "never fetches" in msg
    assert "resolver" in msg
    assert no_network == []


def test_anthropic_url_source_and_gemini_file_uri_are_refused(no_network):
    with pytest.raises(tm.InvalidInputError, match=r"messages\[0\]\.content\[0\].*never fetches"):
        tm.count_request("claude-sonnet-4-5", {"messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}}]}]},
            estimate=True)
    with pytest.raises(tm.InvalidInputError, match=r"contents\[0\]\.parts\[0\].*never fetches"):
        tm.count_request("gemini-2.5-flash", {"contents": [{"parts": [
            {"file_data": {"mime_type": "video/mp4",
                           "file_uri": "https://generativelanguage.googleapis.com/v1/files/x"}}]}]})
    with pytest.raises(tm.InvalidInputError, match="never fetches"):
        tm.count_request("gpt-4-turbo", chat({"type": "file", "file": {"file_id": "file-abc"}}))
    assert no_network == []


def test_a_resolver_supplies_remote_media(no_network):
    asked: list[str] = []

    def resolver(ref: str):
        asked.append(ref)
        if ref.endswith(".png"):
            return mf.image("PNG", (1280, 720))  # bytes: probed from the header
        return tm.ImageInfo(width=1280, height=720)  # or an Info, used as given

    body = chat({"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/b"}})
    usage = tm.count_request(QWEN, body, resolver=resolver)
    assert asked == ["https://example.com/a.png", "https://example.com/b"]
    expected = tm.get_model(QWEN).count_image(1280, 720).tokens
    assert usage.image == 2 * expected
    assert no_network == []


def test_a_resolver_returning_the_wrong_kind_is_an_error():
    body = chat({"type": "image_url", "image_url": {"url": "https://example.com/a"}})
    with pytest.raises(tm.InvalidInputError, match=r"content\[0\].*an image but its media is an "
                                                   "audio"):
        tm.count_request(QWEN, body, resolver=lambda u: tm.AudioInfo(duration=1.0,
                                                                      sample_rate=16000))
    with pytest.raises(tm.InvalidInputError, match="resolver returned a str"):
        tm.count_request(QWEN, body, resolver=lambda u: "a path")


# -- malformed requests -----------------------------------------------------------------


@pytest.mark.parametrize(("body", "where", "what"), [
    (chat({"type": "image", "image_url": {"url": "x"}}), r"messages\[1\]\.content\[0\]",
     "has type 'image' but neither a 'source'"),
    (chat({"type": "image", "image_url": {"url": "x"}}, {"type": "image_url", "image_url": {
        "url": png_url()}}), r"messages\[1\]\.content\[0\]", "unknown content part type "
     "'image'; Chat Completions parts"),
    (chat({"type": "text"}), r"messages\[1\]\.content\[0\]", "missing 'text'"),
    (chat({"type": "image_url", "image_url": {}}), r"messages\[1\]\.content\[0\]\.image_url",
     "missing 'url'"),
    (chat({"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR%%%"}}),
     r"messages\[1\]\.content\[0\]", "malformed base64"),
    (chat({"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K="}}),
     r"messages\[1\]\.content\[0\]", "malformed base64"),
    (chat({"type": "image_url", "image_url": {"url": "data:image/png;base64"}}),
     r"messages\[1\]\.content\[0\]", "malformed data URL"),
    (chat({"type": "image_url", "image_url": {"url": "not a url"}}),
     r"messages\[1\]\.content\[0\]", "is not a URL"),
    (chat({"type": "image_url", "image_url": {"url": png_url(), "detail": "ultra"}}),
     r"messages\[1\]\.content\[0\]\.image_url\.detail", "must be one of"),
    ({"messages": [{"content": "no role"}]}, r"messages\[0\]", "missing 'role'"),
    ({"messages": "hello"}, "messages", "must be an array"),
    ({"messages": [{"role": "user", "content": 7}]}, r"messages\[0\]\.content", "array"),
    ({"prompt": "hi"}, "request's shape could not be recognised", "shape="),
])
def test_malformed_openai_requests(body, where, what):
    with pytest.raises(tm.InvalidInputError, match=f"(?s){where}.*{what}"):
        tm.count_request(QWEN, body)


def test_a_data_url_whose_bytes_are_not_what_it_claims():
    wav = mf.audio("WAV", frames=1600)
    jpeg = mf.image("JPEG", (64, 48))
    cases = [
        ("data:image/png;base64," + b64(wav), "declared 'image/png' but the bytes are an audio"),
        ("data:image/png;base64," + b64(jpeg), "declared 'image/png' but the bytes are a JPEG"),
        ("data:image/png;base64," + b64(b"just some text, not an image at all"),
         "not an image, video or audio format"),
        ("data:image/png;base64," + b64(mf.image("PNG", (64, 48))[:20]), "PNG"),
    ]
    for url, what in cases:
        body = chat({"type": "text", "text": "look"},
                    {"type": "image_url", "image_url": {"url": url}})
        with pytest.raises((tm.InvalidInputError, tm.ProbeError)) as err:
            tm.count_request(QWEN, body)
        assert "messages[1].content[1]" in str(err.value)
        assert what in str(err.value)


def test_anthropic_media_type_must_match_the_bytes():
    body = {"messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg",
                                     "data": b64(mf.image("PNG", (32, 32)))}}]}]}
    with pytest.raises(tm.InvalidInputError, match=r"messages\[0\]\.content\[0\].*'image/jpeg'"
                                                   ".*PNG"):
        tm.count_request("claude-sonnet-4-5", body, shape="anthropic")


def test_a_200_mb_inline_image_is_refused_before_decoding(monkeypatch):
    import binascii

    def no_decode(*a: object, **k: object) -> bytes:
        raise AssertionError("decoded an oversized payload")

    payload = "A" * (200 * 1024 * 1024 // 3 * 4)  # 200 MiB once decoded
    body = chat({"type": "image_url", "image_url": {"url": "data:image/png;base64," + payload}})
    monkeypatch.setattr(binascii, "a2b_base64", no_decode)
    with pytest.raises(tm.InvalidInputError, match=r"messages\[1\]\.content\[0\].*exceeds "
                                                   "max_media_bytes"):
        tm.count_request(QWEN, body)
    del payload, body


def test_max_media_bytes_is_the_callers_bound():
    url = png_url((640, 480))
    body = chat({"type": "image_url", "image_url": {"url": url}})
    with pytest.raises(tm.InvalidInputError, match="exceeds max_media_bytes=100"):
        tm.count_request(QWEN, body, max_media_bytes=100)
    assert tm.count_request(QWEN, body).image > 0


def test_unknown_blocks_and_items_in_other_shapes():
    with pytest.raises(tm.InvalidInputError, match=r"messages\[0\]\.content\[1\].*unknown "
                                                   "content block type 'video'"):
        tm.count_request("claude-sonnet-4-5", {"system": "s", "messages": [
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "video"}]}]},
            estimate=True)
    with pytest.raises(tm.InvalidInputError, match=r"contents\[0\]\.parts\[0\].*a part needs"):
        tm.count_request("gemini-2.5-flash", {"contents": [{"parts": [{"blob": 1}]}]})
    with pytest.raises(tm.InvalidInputError, match=r"messages\[0\]\.content\[0\].*unknown key"):
        tm.count_request(QWEN, {"messages": [{"role": "user", "content": [
            {"image": png_url(), "zoom": 2}]}]}, shape="dashscope")
    with pytest.raises(tm.InvalidInputError, match=r"input\[0\].*input item type 'item_ref"):
        tm.count_request("gpt-4-turbo", {"input": [{"type": "item_reference", "id": "x"}]})
    with pytest.raises(tm.InvalidInputError, match=r"contents\[0\]\.parts\[0\].*mimeType"):
        tm.count_request("gemini-2.5-flash", {"contents": [{"parts": [
            {"inlineData": {"mimeType": "application/zip", "data": "UEsDBA=="}}]}]})


def test_a_part_the_model_does_not_take():
    body = chat({"type": "input_audio", "input_audio": {"data": b64(mf.audio("WAV")),
                                                        "format": "wav"}})
    with pytest.raises(tm.UnsupportedModalityError, match=r"messages\[1\]\.content\[0\]"):
        tm.count_request(QWEN, body)


def test_json_text_bodies_and_bad_json():
    body = chat({"type": "text", "text": "hello"})
    as_text = json.dumps(body)
    assert tm.count_request(QWEN, as_text) == tm.count_request(QWEN, body)
    assert tm.count_request(QWEN, as_text.encode()) == tm.count_request(QWEN, body)
    with pytest.raises(tm.InvalidInputError, match="not JSON"):
        tm.count_request(QWEN, '{"messages": [')
    with pytest.raises(tm.InvalidInputError, match="not UTF-8"):
        tm.count_request(QWEN, b"\xff\xfe")
    with pytest.raises(tm.InvalidInputError, match="unknown request shape"):
        tm.count_request(QWEN, body, shape="cohere")


def test_options_no_rule_takes_are_an_error():
    with pytest.raises(tm.InvalidInputError, match="zoom"):
        tm.count_request(QWEN, chat({"type": "text", "text": "x"}), zoom=2)


def test_local_files_can_be_refused(tmp_path):
    path = mf.write(tmp_path / "a.png", mf.image("PNG", (64, 48)))
    body = {"messages": [{"role": "user", "content": [{"image": f"file://{path}"}]}]}
    assert tm.count_request(QWEN, body).image == tm.get_model(QWEN).count_image(64, 48).tokens
    with pytest.raises(tm.InvalidInputError, match="local files are not allowed"):
        tm.count_request(QWEN, body, local_files=False)
    missing = {"messages": [{"role": "user", "content": [{"image": str(tmp_path / "no.png")}]}]}
    with pytest.raises(tm.MediaNotFoundError, match=r"messages\[0\]\.content\[0\]"):
        tm.count_request(QWEN, missing)


def test_pdfs_need_a_published_rule_or_a_caller_figure():
    pdf = mf.image("PDF", (200, 300), frames=2)
    body = {"messages": [{"role": "user", "content": [
        {"type": "file", "file": {"filename": "a.pdf",
                                  "file_data": "data:application/pdf;base64," + b64(pdf)}}]}]}
    with pytest.raises(tm.UnsupportedFormatError, match=r"messages\[0\]\.content\[0\].*"
                                                        "pdf_page_tokens"):
        tm.count_request("gpt-4-turbo", body)
    usage = tm.count_request("gpt-4-turbo", body, pdf_page_tokens=1000)
    doc = [p for p in usage.parts if p.kind == "document"]
    assert [p.tokens for p in doc] == [2000]
    assert not doc[0].exact
    assert usage.image == 2000


# -- base64 decoding is lazy ------------------------------------------------------------


def test_base64_is_decoded_only_as_far_as_the_header(monkeypatch):
    import binascii

    decoded: list[int] = []
    real = binascii.a2b_base64

    def spy(data: str, **kw: object) -> bytes:
        decoded.append(len(data))
        return real(data, **kw)

    # A JPEG followed by 3 MB that decoders ignore: the payload is 4 MB of base64.
    jpeg = mf.image("JPEG", (2048, 1536)) + bytes(3_000_000)
    payload = clean_base64(b64(jpeg), "x", 10**9)
    monkeypatch.setattr(binascii, "a2b_base64", spy)
    info = tm.probe(Base64File(payload, "x"))
    assert (info.width, info.height) == (2048, 1536)
    assert sum(decoded) <= Base64File.BLOCK_CHARS  # the first block, nothing more
    assert len(payload.value()) > 40 * Base64File.BLOCK_CHARS


def test_base64file_reads_back_the_bytes():
    import random

    rng = random.Random(5)
    for n in (1, 2, 3, 4, 100, 49152, 49153, 200_000):
        raw = bytes(rng.getrandbits(8) for _ in range(n))
        f = Base64File(clean_base64(b64(raw), "x", 10**9), "x")
        assert f.size == n
        assert f.read() == raw
        for _ in range(20):
            a = rng.randrange(0, n)
            k = rng.randrange(0, 70_000)
            f.seek(a)
            assert f.read(k) == raw[a:a + k]
        f.seek(-1, 2)
        assert f.read(5) == raw[-1:]


def test_clean_base64_accepts_what_vendors_accept():
    raw = bytes(range(256)) * 3
    std = base64.b64encode(raw).decode()
    assert clean_base64(std, "x", 10**6).value() == std.rstrip("=")
    assert clean_base64(base64.urlsafe_b64encode(raw).decode(), "x", 10**6).value() == \
        std.rstrip("=")
    wrapped = "\n".join(std[i:i + 76] for i in range(0, len(std), 76))
    assert clean_base64(wrapped, "x", 10**6).value() == std.rstrip("=")
    # A view into a data URL: nothing before the payload counts against it.
    url = "data:image/png;name=a=b;base64," + std
    view = clean_base64(url, "x", 10**6, start=url.index(",") + 1)
    assert view.text is url
    assert view.value() == std.rstrip("=")
    for bad in ("", "====", "ab+c-d", "abc\u00e9", "A", "ab=c", "abc==", "a%bc"):
        with pytest.raises(tm.InvalidInputError):
            clean_base64(bad, "x", 10**6)


# -- a shape that cannot be recognised ---------------------------------------------------


@pytest.mark.parametrize(("body", "why"), [
    ({"hologram": "x"}, r"the body has no 'messages', 'input' or 'contents' \(its keys: "
                        r"\['hologram'\]\)"),
    ({"messages": [{"role": "user", "content": [{"hologram": "x"}]}]},
     r"messages\[0\]\.content\[0\] has no 'type' and none of the keys audio, image, text, "
     r"video \(its keys: \['hologram'\]\)"),
    ([{"hologram": "x"}], r"messages\[0\] has neither 'role' nor 'content'"),
    ([{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "hologram"}]}],
     r"messages\[0\]\.content\[1\] has type 'hologram', a part type of no accepted shape"),
    ([{"role": "user", "content": [{"type": "h" * 10_000}]}], r"has type 'h{60}'…\(10,000 "
                                                              r"chars\)"),
])
def test_a_shape_that_cannot_be_recognised_says_so(body, why):
    with pytest.raises(tm.InvalidInputError) as err:
        tm.count_request(QWEN, body)
    msg = str(err.value)
    assert msg.startswith("the request's shape could not be recognised: ")
    assert re.search(why, msg), msg
    for shape in tm._requests.SHAPES:
        assert f"'{shape}'" in msg
    assert "pass shape=" in msg
    assert "unknown content part type" not in msg
    assert len(msg) < 1000


def test_detection_only_fails_where_nothing_names_the_shape():
    # An OpenAI part elsewhere names the shape: the unknown part is the parser's error.
    body = chat({"type": "hologram"}, {"type": "image_url", "image_url": {"url": png_url()}})
    with pytest.raises(tm.InvalidInputError, match=r"messages\[1\]\.content\[0\]: unknown "
                                                   "content part type 'hologram'; Chat "
                                                   "Completions parts are"):
        tm.count_request(QWEN, body)
    # Text alone is every shape's: Chat Completions, as before.
    assert tm._requests.detect_shape(chat({"type": "text", "text": "hi"})) == "openai"
    assert tm._requests.detect_shape({"messages": []}) == "openai"
    # With shape= there is no detection, and the shape's parser names the part.
    with pytest.raises(tm.InvalidInputError, match=r"messages\[0\]\.content\[0\]: unknown "
                                                   "content block type 'hologram'"):
        tm.count_request("claude-sonnet-4-5", [{"role": "user", "content": [
            {"type": "hologram"}]}], shape="anthropic", estimate=True)


# -- bare base64 where a reference is expected; long references in messages -------------


def dashscope(item: dict) -> dict:
    return {"model": "qwen-vl-max", "input": {"messages": [
        {"role": "user", "content": [{"text": "what is this?"}, item]}]}}


WHERE = "input.messages[0].content[1]"


@pytest.mark.parametrize("size", [(16, 16), (64, 48), (640, 480)])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_dashscope_bare_base64_image_is_refused_with_a_short_message(fmt, size):
    payload = b64(mf.image(fmt, size))
    with pytest.raises(tm.InvalidInputError) as err:
        tm.count_request(QWEN, dashscope({"image": payload}))
    msg = str(err.value)
    assert msg.startswith(WHERE + ": a bare base64 string")
    assert "'data:image/<format>;base64,'" in msg
    assert payload not in msg
    assert len(msg) < 400
    if len(payload) > 60:
        assert f"…({len(payload):,} chars)" in msg
    # The same bytes as a data: URL are counted.
    url = f"data:image/{fmt.lower()};base64,{payload}"
    usage = tm.count_request(QWEN, dashscope({"image": url}))
    assert usage.image == tm.get_model(QWEN).count_image(*size).tokens


def test_the_audited_5_kb_payload_gives_a_short_message():
    payload = b64(mf.image("JPEG", (800, 600)) + bytes(4000))
    assert len(payload) > 5000
    with pytest.raises(tm.InvalidInputError) as err:
        tm.count_request(QWEN, dashscope({"image": payload}))
    assert len(str(err.value)) < 400
    assert not isinstance(err.value, tm.MediaNotFoundError)


@pytest.mark.parametrize("item", [
    lambda p: {"type": "image", "image": p},  # qwen-vl-utils typed item
    lambda p: {"image_url": p},
    lambda p: {"video": [p, p]},  # a video as frames
])
def test_bare_base64_in_every_dashscope_item_form(item):
    payload = b64(mf.image("PNG", (64, 48)))
    with pytest.raises(tm.InvalidInputError, match="bare base64 string"):
        tm.count_request(QWEN, dashscope(item(payload)))


def test_dashscope_bare_base64_video_and_audio():
    video = b64(mf.video("mp4", "libx264", (64, 48), fps=10, frames=10))
    with pytest.raises(tm.InvalidInputError, match=r"content\[1\]: a bare base64 .*"
                                                   "'data:video/<format>;base64,'"):
        tm.count_request(QWEN, dashscope({"video": video}))
    wav = b64(mf.audio("WAV", frames=16000))
    with pytest.raises(tm.InvalidInputError, match=r"content\[1\]: a bare base64 .*"
                                                   "'data:audio/<format>;base64,'"):
        tm.count_request("qwen2.5-omni-7b", dashscope({"audio": wav}))


def test_bare_base64_size_limit_comes_first(monkeypatch):
    payload = b64(mf.image("PNG", (640, 480)))
    with pytest.raises(tm.InvalidInputError, match=r"exceeds max_media_bytes=100\b") as err:
        tm.count_request(QWEN, dashscope({"image": payload}), max_media_bytes=100)
    assert len(str(err.value)) < 300

    import os

    def no_fs(*a: object, **k: object) -> None:
        raise AssertionError("touched the file system for an oversized payload")

    huge = "A" * (96 * 1024 * 1024)  # 72 MiB once decoded, over the 64 MiB default
    monkeypatch.setattr(os, "stat", no_fs)
    monkeypatch.setattr(os.path, "lexists", no_fs)
    with pytest.raises(tm.InvalidInputError, match=rf"{re_where()}: inline media of .* exceeds "
                                                   "max_media_bytes") as err:
        tm.count_request(QWEN, dashscope({"image": huge}))
    assert len(str(err.value)) < 300
    del huge


def re_where() -> str:
    return WHERE.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")


def test_bare_base64_where_a_url_is_expected():
    payload = b64(mf.image("JPEG", (64, 48)))
    with pytest.raises(tm.InvalidInputError, match=r"messages\[1\]\.content\[0\]: a bare base64"
                                                   ".*reads this field as a URL") as err:
        tm.count_request(QWEN, chat({"type": "image_url", "image_url": {"url": payload}}))
    assert payload not in str(err.value)
    with pytest.raises(tm.InvalidInputError, match=r"messages\[0\]\.content\[0\]: a bare base64"):
        tm.count_request("claude-sonnet-4-5", {"messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "url", "url": payload}}]}]}, estimate=True)


def test_a_file_whose_name_looks_like_base64_is_still_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mf.write(tmp_path / "iVBORw0KGgo", mf.image("PNG", (64, 48)))
    usage = tm.count_request(QWEN, dashscope({"image": "iVBORw0KGgo"}))
    assert usage.image == tm.get_model(QWEN).count_image(64, 48).tokens
    # Without file access the same string is not looked up, and is refused as base64.
    with pytest.raises(tm.InvalidInputError, match="bare base64"):
        tm.count_request(QWEN, dashscope({"image": "iVBORw0KGgo"}), local_files=False)


def test_long_references_are_shortened_in_every_message(tmp_path):
    long_path = str(tmp_path / ("d" * 200) / "photo.png")
    with pytest.raises(tm.MediaNotFoundError) as err:
        tm.count_request(QWEN, dashscope({"image": long_path}))
    assert long_path not in str(err.value)
    assert f"…({len(long_path):,} chars)" in str(err.value)
    with pytest.raises(tm.MediaNotFoundError) as err:
        tm.count_request(QWEN, dashscope({"image": "file://" + long_path}))
    assert long_path not in str(err.value)

    url = "https://example.com/" + "x" * 5000 + ".png"
    with pytest.raises(tm.InvalidInputError) as err:
        tm.count_request(QWEN, dashscope({"image": url}))
    assert url not in str(err.value)
    assert f"…({len(url):,} chars)" in str(err.value)
    with pytest.raises(tm.InvalidInputError) as err:
        tm.count_request(QWEN, dashscope({"image": url}), resolver=lambda u: "not media")
    assert "resolver returned a str" in str(err.value)
    assert len(str(err.value)) < 400

    not_a_path = "a path? " * 1000
    with pytest.raises(tm.InvalidInputError, match="longer than any path") as err:
        tm.count_request(QWEN, dashscope({"image": not_a_path}))
    assert len(str(err.value)) < 300
    with pytest.raises(tm.InvalidInputError, match="longer than any file path") as err:
        tm.count_request(QWEN, dashscope({"image": "file://" + "/x" * 5000}))
    assert len(str(err.value)) < 300


@pytest.mark.parametrize(("body", "shape"), [
    (chat({"type": "x" * 100_000}), "openai"),
    ({"input": [{"type": "y" * 100_000}]}, "openai-responses"),
    ({"system": "s", "messages": [{"role": "user", "content": [{"type": "z" * 100_000}]}]},
     "anthropic"),
    ({"contents": [{"role": "r" * 100_000, "parts": [{"text": "hi"}]}]}, "gemini"),
    ({"messages": [{"role": "user", "content": [{"image": png_url(), "type": "v" * 100_000}]}]},
     "dashscope"),
    (chat({"type": "image_url", "image_url": {"url": "data:" + "t" * 100_000 + ",AAAA"}}),
     "openai"),
])
def test_request_values_are_quoted_short(body, shape):
    with pytest.raises(tm.InvalidInputError) as err:
        tm.count_request(QWEN, body, shape=shape, estimate=True)
    assert len(str(err.value)) < 500, str(err.value)[:200]


# -- an option the count does not apply is never dropped silently ------------------------


def gemini_image(res: str | None = None, *, part_res: str | None = None,
                 size: tuple[int, int] = (800, 600)) -> dict:
    part: dict = {"inlineData": {"mimeType": "image/jpeg",
                                 "data": b64(mf.image("JPEG", size))}}
    if part_res:
        part["mediaResolution"] = {"level": part_res}
    body: dict = {"contents": [{"parts": [{"text": "what is this?"}, part]}]}
    if res:
        body["generationConfig"] = {"mediaResolution": res}
    return body


@pytest.mark.parametrize("res", ["MEDIA_RESOLUTION_LOW", "MEDIA_RESOLUTION_MEDIUM",
                                 "MEDIA_RESOLUTION_HIGH"])
def test_gemini2_media_resolution_on_an_image_is_visible_not_silent(res):
    usage = tm.count_request("gemini-2.5-flash", gemini_image(res))
    img = part_at(usage, "contents[0].parts[1]")
    level = res.removeprefix("MEDIA_RESOLUTION_").lower()
    # The rule takes no media_resolution: the default-resolution count, marked as such.
    assert img.tokens == 516 == tm.get_model("gemini-2.5-flash").count_image(800, 600).tokens
    assert not img.exact
    note = f"media_resolution='{level}' not applied: gemini.tiles takes no media_resolution"
    assert note in img.rule
    assert note in img.count.details["note"]
    assert note in usage.explain()
    assert note in img.count.explain()
    assert "LOW 64 tokens, MEDIUM 256, HIGH 256 with zoomed reframing" in img.rule


def test_gemini_unspecified_resolution_adds_no_note():
    for res in (None, "MEDIA_RESOLUTION_UNSPECIFIED"):
        img = part_at(tm.count_request("gemini-2.5-flash", gemini_image(res)),
                      "contents[0].parts[1]")
        assert img.rule == "gemini.tiles"
        assert "note" not in img.count.details


def test_gemini3_applies_media_resolution_without_a_note():
    usage = tm.count_request("gemini-3-pro", gemini_image("MEDIA_RESOLUTION_LOW"))
    img = part_at(usage, "contents[0].parts[1]")
    assert (img.tokens, img.rule) == (280, "gemini.budget")
    usage = tm.count_request("gemini-3-pro", gemini_image(part_res="MEDIA_RESOLUTION_MEDIUM"))
    img = part_at(usage, "contents[0].parts[1]")
    assert (img.tokens, img.rule) == (560, "gemini.budget")


def test_a_request_wide_media_resolution_is_noted_where_a_rule_does_not_take_it():
    usage = tm.count_request("gemini-2.5-flash", gemini_image(), media_resolution="low")
    img = part_at(usage, "contents[0].parts[1]")
    assert img.tokens == 516
    assert "media_resolution='low' not applied" in img.rule
    # A part's own value wins over the request-wide one, in the note too.
    usage = tm.count_request("gemini-2.5-flash", gemini_image("MEDIA_RESOLUTION_HIGH"),
                             media_resolution="low")
    assert "media_resolution='high' not applied" in part_at(usage, "contents[0].parts[1]").rule


def test_media_resolution_on_a_gemini_pdf_is_noted():
    pdf = b64(mf.image("PDF", (200, 300), frames=3))
    body = {"generationConfig": {"mediaResolution": "MEDIA_RESOLUTION_LOW"},
            "contents": [{"parts": [{"inlineData": {"mimeType": "application/pdf",
                                                    "data": pdf}}]}]}
    doc = part_at(tm.count_request("gemini-2.5-flash", body), "contents[0].parts[0]")
    assert doc.tokens == 3 * 258
    assert "media_resolution='low' not applied: the per-page figure" in doc.rule
    assert not doc.exact
    del body["generationConfig"]
    doc = part_at(tm.count_request("gemini-2.5-flash", body), "contents[0].parts[0]")
    assert doc.rule == "document.pdf_pages"


def part_at(usage: tm.Usage, index: str) -> tm.UsagePart:
    (found,) = [p for p in usage.parts if p.index == index]
    assert found.count is not None
    return found
