//! Chunking invariance: however the peer's bytes are cut into inputs (whole,
//! at random points, one byte at a time), a connection reports the same
//! events, writes the same bytes and ends in the same state; and fed whole,
//! the events and bytes are the ones RFC 6455 prescribes for the frames.
//!
//! The frames are generated: text and binary messages, some fragmented
//! (possibly inside a code point) with pings and pongs between fragments,
//! pings and pongs between messages, and at the end maybe a close, an
//! invalid frame, or a frame cut short.

mod common;

use common::*;
use ews::Error;
use ews::proto::{Config, Connection, Opcode, Role, State};
use proptest::prelude::*;
use proptest::sample::Index;

#[derive(Debug, Clone)]
enum Control {
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Msg {
    text: bool,
    data: Vec<u8>,
    /// Fragment boundaries (positions into `data`, any order, repeats allowed).
    cuts: Vec<Index>,
    /// Control frames sent after the first fragments, one per gap.
    controls: Vec<Control>,
}

#[derive(Debug, Clone)]
enum Item {
    Msg(Msg),
    Control(Control),
}

#[derive(Debug, Clone, Copy)]
enum Bad {
    ReservedOpcode(u8),
    WrongMasking,
    Rsv(u8),
    Utf8,
    Utf8InLastFragment,
    CloseReasonUtf8,
    Orphan,
    Interrupt,
    LongPing,
    CloseCode(u16),
    OneByteClose,
    NonMinimal,
    TooBig,
}

#[derive(Debug, Clone)]
enum End {
    Nothing,
    Close(u16, String),
    EmptyClose,
    Invalid(Bad),
    /// A text frame cut after this many bytes (at least one byte is missing).
    Truncated(Index),
}

#[derive(Debug, Clone)]
struct Script {
    items: Vec<Item>,
    end: End,
    /// Masking keys are derived from this.
    seed: u32,
}

fn control() -> impl Strategy<Value = Control> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..=125).prop_map(Control::Ping),
        proptest::collection::vec(any::<u8>(), 0..=20).prop_map(Control::Pong),
    ]
}

fn msg() -> impl Strategy<Value = Msg> {
    let text = proptest::collection::vec(any::<char>(), 0..40)
        .prop_map(|cs| (true, cs.into_iter().collect::<String>().into_bytes()));
    let binary = proptest::collection::vec(any::<u8>(), 0..300).prop_map(|b| (false, b));
    (
        prop_oneof![text, binary],
        proptest::collection::vec(any::<Index>(), 0..4),
        proptest::collection::vec(control(), 0..3),
    )
        .prop_map(|((text, data), cuts, controls)| Msg { text, data, cuts, controls })
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![3 => msg().prop_map(Item::Msg), 1 => control().prop_map(Item::Control)]
}

fn bad() -> impl Strategy<Value = Bad> {
    prop_oneof![
        prop::sample::select(vec![3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF]).prop_map(Bad::ReservedOpcode),
        Just(Bad::WrongMasking),
        (1u8..8).prop_map(Bad::Rsv),
        Just(Bad::Utf8),
        Just(Bad::Utf8InLastFragment),
        Just(Bad::CloseReasonUtf8),
        Just(Bad::Orphan),
        Just(Bad::Interrupt),
        Just(Bad::LongPing),
        prop::sample::select(vec![0u16, 999, 1004, 1005, 1006, 1015, 2000, 2999, 5000]).prop_map(Bad::CloseCode),
        Just(Bad::OneByteClose),
        Just(Bad::NonMinimal),
        Just(Bad::TooBig),
    ]
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        3 => Just(End::Nothing),
        1 => (prop::sample::select(vec![1000u16, 1001, 1003, 1011, 3000, 4999]), "[a-z ]{0,20}")
            .prop_map(|(code, reason)| End::Close(code, reason)),
        1 => Just(End::EmptyClose),
        3 => bad().prop_map(End::Invalid),
        1 => any::<Index>().prop_map(End::Truncated),
    ]
}

fn script() -> impl Strategy<Value = Script> {
    (proptest::collection::vec(item(), 0..8), end(), any::<u32>()).prop_map(|(items, end, seed)| Script {
        items,
        end,
        seed,
    })
}

/// What a script should produce.
#[derive(Debug, Default)]
struct Expected {
    input: Vec<u8>,
    events: Vec<Ev>,
    /// The frames the connection writes: opcode and payload.
    output: Vec<(Opcode, Vec<u8>)>,
    state: Option<State>,
    error: Option<Error>,
}

struct Encoder {
    role: Role,
    seed: u32,
    n: u32,
    out: Vec<u8>,
}

impl Encoder {
    fn key(&mut self) -> Option<[u8; 4]> {
        self.n += 1;
        let k = self.seed.wrapping_mul(2_654_435_761).wrapping_add(self.n.wrapping_mul(40_503)) | 0x0101_0101;
        (self.role == Role::Server).then(|| k.to_le_bytes())
    }

    fn frame(&mut self, fin: bool, rsv: u8, opcode: u8, payload: &[u8]) {
        let key = self.key();
        self.out.extend(raw_frame(fin, rsv, opcode, key, payload));
    }

    fn unmasked_for_peer(&mut self, opcode: u8, payload: &[u8]) {
        // The wrong masking for the receiving role.
        let key = match self.role {
            Role::Server => None,
            Role::Client => Some(KEY),
        };
        self.out.extend(raw_frame(true, 0, opcode, key, payload));
    }
}

fn control_frame(enc: &mut Encoder, exp: &mut Expected, c: &Control) {
    match c {
        Control::Ping(p) => {
            enc.frame(true, 0, PING, p);
            exp.events.push(Ev::Ping(p.clone()));
            exp.output.push((Opcode::Pong, p.clone()));
        }
        Control::Pong(p) => {
            enc.frame(true, 0, PONG, p);
            exp.events.push(Ev::Pong(p.clone()));
        }
    }
}

fn fail(exp: &mut Expected, err: Error) {
    exp.events.push(Ev::Error(err));
    let mut payload = err.close_code().expect("a close code").to_be_bytes().to_vec();
    payload.extend_from_slice(err.detail().as_bytes());
    exp.output.push((Opcode::Close, payload));
    exp.state = Some(State::Failed);
    exp.error = Some(err);
}

fn expect(script: &Script, role: Role) -> Expected {
    let mut enc = Encoder { role, seed: script.seed, n: 0, out: Vec::new() };
    let mut exp = Expected { state: Some(State::Open), ..Expected::default() };
    for item in &script.items {
        match item {
            Item::Control(c) => control_frame(&mut enc, &mut exp, c),
            Item::Msg(m) => {
                let mut cuts: Vec<usize> = m.cuts.iter().map(|i| i.index(m.data.len() + 1)).collect();
                cuts.sort_unstable();
                let mut bounds = vec![0];
                bounds.extend(cuts);
                bounds.push(m.data.len());
                let pieces = bounds.len() - 1;
                for i in 0..pieces {
                    let opcode = match (i, m.text) {
                        (0, true) => TEXT,
                        (0, false) => BINARY,
                        _ => CONT,
                    };
                    enc.frame(i == pieces - 1, 0, opcode, &m.data[bounds[i]..bounds[i + 1]]);
                    if i < pieces - 1
                        && let Some(c) = m.controls.get(i)
                    {
                        control_frame(&mut enc, &mut exp, c);
                    }
                }
                exp.events.push(Ev::Message { text: m.text, data: m.data.clone() });
            }
        }
    }
    let mut trailing = true;
    match &script.end {
        End::Nothing => trailing = false,
        End::Close(code, reason) => {
            enc.frame(true, 0, CLOSE, &close_payload(*code, reason.as_bytes()));
            exp.events.push(Ev::close(*code, reason));
            exp.output.push((Opcode::Close, code.to_be_bytes().to_vec()));
            exp.state = Some(State::Closed);
        }
        End::EmptyClose => {
            enc.frame(true, 0, CLOSE, b"");
            exp.events.push(Ev::close(1005, ""));
            exp.output.push((Opcode::Close, Vec::new()));
            exp.state = Some(State::Closed);
        }
        End::Truncated(at) => {
            let before = enc.out.len();
            enc.frame(true, 0, TEXT, b"a message that never ends");
            let len = enc.out.len() - before;
            enc.out.truncate(before + 1 + at.index(len - 1));
            trailing = false;
        }
        End::Invalid(bad) => {
            let err = match *bad {
                Bad::ReservedOpcode(op) => {
                    enc.frame(true, 0, op, b"x");
                    Error::ReservedOpcode(op)
                }
                Bad::WrongMasking => {
                    enc.unmasked_for_peer(TEXT, b"x");
                    match role {
                        Role::Server => Error::UnmaskedFrame,
                        Role::Client => Error::MaskedFrame,
                    }
                }
                Bad::Rsv(rsv) => {
                    enc.frame(true, rsv, BINARY, b"x");
                    Error::ReservedBits
                }
                Bad::Utf8 => {
                    enc.frame(true, 0, TEXT, b"valid, then \xc3\x28 invalid");
                    Error::InvalidUtf8
                }
                Bad::Utf8InLastFragment => {
                    // "€" is E2 82 AC: E2 82 28 breaks on its third byte.
                    enc.frame(false, 0, TEXT, b"price \xe2\x82");
                    enc.frame(true, 0, PING, b"between");
                    exp.events.push(Ev::Ping(b"between".to_vec()));
                    exp.output.push((Opcode::Pong, b"between".to_vec()));
                    enc.frame(true, 0, CONT, b"\x28");
                    Error::InvalidUtf8
                }
                Bad::CloseReasonUtf8 => {
                    enc.frame(true, 0, CLOSE, &close_payload(1000, b"bye \xf0\x9f"));
                    Error::InvalidUtf8
                }
                Bad::Orphan => {
                    enc.frame(true, 0, CONT, b"orphan");
                    Error::UnexpectedContinuation
                }
                Bad::Interrupt => {
                    enc.frame(false, 0, TEXT, b"start");
                    enc.frame(true, 0, BINARY, b"intruder");
                    Error::ExpectedContinuation
                }
                Bad::LongPing => {
                    enc.frame(true, 0, PING, &[0; 126]);
                    Error::ControlFrameTooLong
                }
                Bad::CloseCode(code) => {
                    enc.frame(true, 0, CLOSE, &close_payload(code, b""));
                    Error::InvalidCloseCode(code)
                }
                Bad::OneByteClose => {
                    enc.frame(true, 0, CLOSE, &[0x03]);
                    Error::CloseTooShort
                }
                Bad::NonMinimal => {
                    let key = enc.key();
                    let mask_bit = if key.is_some() { 0x80 } else { 0 };
                    enc.out.extend_from_slice(&[0x82, mask_bit | 126, 0, 5]);
                    enc.out.extend(key.into_iter().flatten());
                    enc.out.extend_from_slice(b"hello");
                    Error::NonMinimalLength
                }
                Bad::TooBig => {
                    let key = enc.key();
                    enc.out.extend(header(true, 0, BINARY, key, 1 << 40));
                    Error::FrameTooBig
                }
            };
            fail(&mut exp, err);
        }
    }
    if trailing {
        // Nothing after the end is read.
        enc.frame(true, 0, TEXT, b"after the end");
        enc.frame(true, 0, PING, b"after the end");
        enc.frame(true, 0, 0x3, b"");
    }
    exp.input = enc.out;
    exp
}

/// What one run produced.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    events: Vec<Ev>,
    output: Vec<u8>,
    state: State,
    error: Option<Error>,
    buffered: usize,
    wants_close: bool,
}

fn config() -> Config {
    Config { control_events: true, ..Config::default() }
}

fn run(role: Role, config: Config, input: &[u8], cuts: &[usize]) -> Outcome {
    let mut conn = Connection::open(role, config).unwrap();
    let events = feed_in_pieces(&mut conn, input, cuts);
    // An empty input lets the connection drop what it lent out last.
    let _ = feed(&mut conn, b"");
    let mut nothing = [];
    assert!(conn.feed(&mut nothing).event.is_none());
    let state = conn.state();
    // Every run ends with nothing lent out; a closed or failed connection
    // holds nothing at all.
    let buffered = conn.buffered_bytes();
    if matches!(state, State::Closed | State::Failed) {
        assert_eq!(buffered, 0, "a finished connection holds no receive memory");
    }
    Outcome {
        events,
        output: take_output(&mut conn),
        state,
        error: conn.error(),
        buffered,
        wants_close: conn.wants_close(),
    }
}

fn frames_of(output: &[u8]) -> Vec<(Opcode, Vec<u8>)> {
    decode_frames(output).into_iter().map(|f| (f.opcode, f.payload)).collect()
}

fn positions(cuts: &[Index], len: usize) -> Vec<usize> {
    let mut v: Vec<usize> = cuts.iter().map(|i| i.index(len + 1)).collect();
    v.sort_unstable();
    v
}

/// Folds streaming fragments into whole messages, checking their flags.
fn fold_fragments(events: Vec<Ev>) -> Vec<Ev> {
    let mut out = Vec::new();
    let mut current: Option<(bool, Vec<u8>)> = None;
    for e in events {
        match e {
            Ev::Fragment { text, data, first, last } => {
                assert_eq!(first, current.is_none(), "first flag on the first piece only");
                let (t, mut buf) = current.take().unwrap_or((text, Vec::new()));
                assert_eq!(t, text, "pieces of one message share its type");
                buf.extend_from_slice(&data);
                if last {
                    out.push(Ev::Message { text, data: buf });
                } else {
                    current = Some((t, buf));
                }
            }
            other => out.push(other),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn server_events_output_and_state_do_not_depend_on_chunking(
        script in script(),
        cuts in proptest::collection::vec(any::<Index>(), 0..12),
    ) {
        let exp = expect(&script, Role::Server);
        let whole = run(Role::Server, config(), &exp.input, &[]);
        prop_assert_eq!(&whole.events, &exp.events);
        prop_assert_eq!(frames_of(&whole.output), exp.output.clone());
        prop_assert_eq!(Some(whole.state), exp.state);
        prop_assert_eq!(whole.error, exp.error);
        prop_assert!(decode_frames(&whole.output).iter().all(|f| f.mask.is_none()));

        let split = run(Role::Server, config(), &exp.input, &positions(&cuts, exp.input.len()));
        prop_assert_eq!(&split, &whole);
        let bytewise_cuts: Vec<usize> = (1..exp.input.len()).collect();
        let bytewise = run(Role::Server, config(), &exp.input, &bytewise_cuts);
        prop_assert_eq!(&bytewise, &whole);
    }

    #[test]
    fn client_events_and_frames_do_not_depend_on_chunking(
        script in script(),
        cuts in proptest::collection::vec(any::<Index>(), 0..12),
    ) {
        let exp = expect(&script, Role::Client);
        let whole = run(Role::Client, config(), &exp.input, &[]);
        prop_assert_eq!(&whole.events, &exp.events);
        prop_assert_eq!(frames_of(&whole.output), exp.output.clone());
        prop_assert_eq!(Some(whole.state), exp.state);
        prop_assert!(decode_frames(&whole.output).iter().all(|f| f.mask.is_some()));

        for cuts in [positions(&cuts, exp.input.len()), (1..exp.input.len()).collect()] {
            let other = run(Role::Client, config(), &exp.input, &cuts);
            // Masking keys are fresh: compare the frames, not the bytes.
            prop_assert_eq!(&other.events, &whole.events);
            prop_assert_eq!(frames_of(&other.output), frames_of(&whole.output));
            prop_assert_eq!(
                (other.state, other.error, other.buffered, other.wants_close),
                (whole.state, whole.error, whole.buffered, whole.wants_close)
            );
        }
    }

    #[test]
    fn without_control_events_only_their_events_are_missing(
        script in script(),
        cuts in proptest::collection::vec(any::<Index>(), 0..12),
    ) {
        let exp = expect(&script, Role::Server);
        let quiet = run(Role::Server, Config::default(), &exp.input, &positions(&cuts, exp.input.len()));
        let loud = run(Role::Server, config(), &exp.input, &[]);
        let filtered: Vec<Ev> =
            loud.events.iter().filter(|e| !matches!(e, Ev::Ping(_) | Ev::Pong(_))).cloned().collect();
        prop_assert_eq!(&quiet.events, &filtered);
        prop_assert_eq!(&quiet.output, &loud.output);
        prop_assert_eq!((quiet.state, quiet.error), (loud.state, loud.error));
    }

    #[test]
    fn streaming_pieces_form_the_same_messages_however_the_input_is_cut(
        script in script(),
        cuts in proptest::collection::vec(any::<Index>(), 0..12),
    ) {
        let exp = expect(&script, Role::Server);
        let streaming = Config { streaming: true, ..config() };
        for cuts in [Vec::new(), positions(&cuts, exp.input.len()), (1..exp.input.len()).collect()] {
            let got = run(Role::Server, streaming.clone(), &exp.input, &cuts);
            // A message cut short at the end leaves pieces without a last one.
            let folded = fold_fragments(got.events);
            prop_assert_eq!(&folded, &exp.events);
            prop_assert_eq!(frames_of(&got.output), exp.output.clone());
            prop_assert_eq!(Some(got.state), exp.state);
            prop_assert_eq!(got.error, exp.error);
        }
    }
}
