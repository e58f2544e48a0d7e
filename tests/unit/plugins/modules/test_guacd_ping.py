"""guacd_ping: the Guacamole protocol parser and encoder, reply handling, retries and option checks (no network)."""

from __future__ import annotations

import pytest

from ansible_collections.proxgate.core.plugins.module_utils.guacd import protocol
from ansible_collections.proxgate.core.plugins.module_utils.guacd.protocol import (
    GuacdClosed,
    GuacdConnectError,
    GuacdProtocolError,
    GuacdTlsError,
    GuacdUnexpectedReply,
    InstructionParser,
    describe_error,
    encode_instruction,
    split_args,
)
from ansible_collections.proxgate.core.plugins.modules.guacd_ping import validation_errors

ARGS = "4.args,13.VERSION_1_5_0,8.hostname,8.host-key,4.port;"


def test_select_is_encoded_as_guacd_expects():
    assert encode_instruction("select", "ssh") == "6.select,3.ssh;"


def test_lengths_count_characters_not_bytes():
    assert encode_instruction("error", "Zugriff verweigert: Größe") == "5.error,25.Zugriff verweigert: Größe;"


def test_one_whole_instruction():
    assert InstructionParser().feed(ARGS.encode()) == [["args", "VERSION_1_5_0", "hostname", "host-key", "port"]]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 13])
def test_instruction_split_across_reads(size):
    data = ARGS.encode()
    parser = InstructionParser()
    found = []
    for start in range(0, len(data), size):
        found += parser.feed(data[start:start + size])
    assert found == [["args", "VERSION_1_5_0", "hostname", "host-key", "port"]]
    assert not parser.pending


def test_multibyte_characters_split_inside_a_character():
    data = encode_instruction("error", "€ not 3 bytes ☃ but 1 char", "512").encode()
    assert len(data) > len(data.decode())
    parser = InstructionParser()
    found = []
    for index in range(len(data)):
        found += parser.feed(data[index:index + 1])
    assert found == [["error", "€ not 3 bytes ☃ but 1 char", "512"]]


def test_a_byte_length_would_cut_the_value_short():
    # 6 bytes but 2 characters: a parser counting bytes would read past the ';' or fail.
    data = "5.error,2.€€,3.512;".encode()
    assert InstructionParser().feed(data) == [["error", "€€", "512"]]


def test_several_instructions_in_one_read_and_a_partial_one_kept():
    parser = InstructionParser()
    assert parser.feed(b"4.sync,1.0;3.nop;4.args,1") == [["sync", "0"], ["nop"]]
    assert parser.pending
    assert parser.feed(b"3.VERSION_1_5_0;") == [["args", "VERSION_1_5_0"]]  # the length was split: "1" + "3."
    assert not parser.pending


def test_element_values_may_contain_separators():
    assert InstructionParser().feed(b"5.error,9.a,b;c.d;e,1.0;") == [["error", "a,b;c.d;e", "0"]]


def test_empty_element():
    assert InstructionParser().feed(b"4.args,0.;") == [["args", ""]]


@pytest.mark.parametrize("garbage, what", [
    (b"HTTP/1.1 400 Bad Request\r\n\r\n", "expected an element length"),
    (b"4.argsX", "not ',' or ';'"),
    (b"123456.x", "expected an element length"),
    (b".args;", "expected an element length"),
    (b"\xff\xfe", "not UTF-8"),
    (b"-1.a;", "expected an element length"),
    ("²3.abc;".encode(), "expected an element length"),
])
def test_malformed_input_is_a_protocol_error(garbage, what):
    with pytest.raises(GuacdProtocolError, match=what):
        InstructionParser().feed(garbage)


def test_wrong_length_is_caught_at_the_terminator():
    with pytest.raises(GuacdProtocolError, match="followed by 'S'"):
        InstructionParser().feed(b"4.args,3.VERSION_1_5_0;")


def test_endless_element_is_refused():
    parser = InstructionParser()
    with pytest.raises(GuacdProtocolError, match="without the end"):
        parser.feed(b"99999." + b"a" * (protocol.MAX_PENDING_CHARS + 10))


def test_args_split_into_version_and_names():
    assert split_args(["args", "VERSION_1_5_0", "hostname", "port"]) == ("VERSION_1_5_0", ["hostname", "port"])


def test_guacd_before_1_1_sends_no_version():
    assert split_args(["args", "hostname", "port"]) == (None, ["hostname", "port"])


def test_error_instruction_is_described_with_its_status_name():
    assert describe_error(["error", "Server busy", "513"]) == "'Server busy' (status 0x0201 SERVER_BUSY)"
    assert describe_error(["error", "odd"]) == "'odd' (status no status)"


def test_reply_that_is_not_args_is_shown():
    with pytest.raises(GuacdUnexpectedReply, match="with '4.sync,1.0;', not 'args'") as caught:
        protocol._expect_args(["sync", "0"], "h:1", "ssh")
    assert caught.value.instruction == ["sync", "0"]


def test_error_reply_names_message_and_status():
    with pytest.raises(GuacdUnexpectedReply, match=r"refused 'select' for 'rdp': error 'no rdp' \(status 0x0100"):
        protocol._expect_args(["error", "no rdp", "256"], "h:1", "rdp")


class FakeHandshake:
    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def test_retries_until_guacd_answers(monkeypatch):
    fake = FakeHandshake([GuacdConnectError("refused"), GuacdClosed("closed"), ["args", "VERSION_1_5_0"]])
    monkeypatch.setattr(protocol, "handshake", fake)
    sleeps = []
    assert protocol.ping("h", 1, retries=5, delay=0.5, sleep=sleeps.append) == (["args", "VERSION_1_5_0"], 3)
    assert sleeps == [0.5, 0.5]


def test_gives_up_after_retries_and_says_how_often(monkeypatch):
    monkeypatch.setattr(protocol, "handshake", FakeHandshake([GuacdConnectError("refused")] * 3))
    with pytest.raises(GuacdConnectError, match=r"refused \(after 3 attempts\)"):
        protocol.ping("h", 1, retries=2, delay=0, sleep=lambda _: None)


@pytest.mark.parametrize("error", [GuacdTlsError("bad cert"), GuacdProtocolError("garbage"),
                                   GuacdUnexpectedReply("error", ["error", "x", "256"])])
def test_faults_that_waiting_cannot_cure_are_not_retried(monkeypatch, error):
    fake = FakeHandshake([error, ["args"]])
    monkeypatch.setattr(protocol, "handshake", fake)
    with pytest.raises(type(error)):
        protocol.ping("h", 1, retries=5, delay=0, sleep=lambda _: None)
    assert fake.calls == 1


def params(**overrides):
    return {"port": 4822, "timeout": 10.0, "retries": 0, "delay": 2.0, **overrides}


def test_valid_options_pass():
    assert validation_errors(params()) == []


@pytest.mark.parametrize("overrides, words", [
    ({"port": 0}, "port must be between 1 and 65535, got 0"),
    ({"port": 70000}, "port must be between 1 and 65535, got 70000"),
    ({"timeout": 0.0}, "timeout must be more than 0"),
    ({"retries": -1}, "retries must be 0 or more"),
    ({"delay": -2.0}, "delay must be 0 or more"),
])
def test_bad_options_are_named(overrides, words):
    assert words in "; ".join(validation_errors(params(**overrides)))
