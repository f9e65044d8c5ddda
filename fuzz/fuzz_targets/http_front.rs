//! The server's HTTP front up to the upgrade: `RequestReader` (the one
//! reader of request heads every server path uses) fed arbitrary bytes in
//! chunks, then `agree` on what it read.
//!
//! Invariants:
//! - fed in chunks or at once, the reader reaches the same verdict: the
//!   same request after the same number of bytes, or the same refusal
//!   (garbage that also overruns the byte cap may be 400 or 431);
//! - a complete request takes no byte past its head's empty line, and the
//!   head is within the byte cap and the header-count cap;
//! - a refusal is an HTTP error status (400-599);
//! - `agree` accepts only what `validate` accepts, and its `101` passes the
//!   client's own check with the subprotocol it agreed (one the client
//!   offered and the server supports), or none.
#![no_main]

use ews::error::RequestError;
use ews::proto::handshake::client::check_response;
use ews::proto::handshake::negotiate::agree;
use ews::proto::handshake::server::{Request, RequestProgress, RequestReader, validate};
use ews_fuzz::Cursor;
use libfuzzer_sys::fuzz_target;

const CHUNKS: [usize; 6] = [1, 2, 7, 64, 512, usize::MAX];

/// What a reader made of the input.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// No complete head yet.
    Pending,
    /// A request, after this many bytes of the input.
    Request(Request, usize),
    /// Refused.
    Refused(RequestError),
}

fn read(data: &[u8], max_bytes: usize, max_headers: usize, chunk: usize) -> Verdict {
    let mut reader = RequestReader::new(max_bytes, max_headers);
    let mut pos = 0;
    while pos < data.len() {
        let end = data.len().min(pos.saturating_add(chunk));
        match reader.push(&data[pos..end]) {
            RequestProgress::Partial(n) => {
                assert_eq!(n, end - pos, "a partial head takes the whole chunk");
                pos = end;
            }
            RequestProgress::Complete(request, n) => {
                assert!(n <= end - pos);
                return Verdict::Request(request, pos + n);
            }
            RequestProgress::Refused(e) => return Verdict::Refused(e),
        }
    }
    Verdict::Pending
}

fn is_garbage(e: RequestError) -> bool {
    matches!(e, RequestError::Malformed | RequestError::HeadersTooLarge)
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let max_bytes = 1 + usize::from(c.u16() % 4096);
    let max_headers = 1 + usize::from(c.u8() % 64);
    let chunk = CHUNKS[usize::from(c.u8()) % CHUNKS.len()];
    let supported: Vec<String> = match c.u8() % 3 {
        0 => Vec::new(),
        1 => vec!["chat".to_owned()],
        _ => vec!["superchat".to_owned(), "chat".to_owned()],
    };
    let input = c.rest();

    let whole = read(input, max_bytes, max_headers, usize::MAX);
    let chunked = read(input, max_bytes, max_headers, chunk);
    match (&whole, &chunked) {
        // Bytes that are not HTTP and overrun the cap are refused either as
        // not HTTP (400) or as too large (431), depending on which shows
        // first: both are refusals of the same garbage.
        (Verdict::Refused(a), Verdict::Refused(b)) if is_garbage(*a) && is_garbage(*b) => {}
        _ => assert_eq!(whole, chunked, "chunks of {chunk} bytes"),
    }

    match whole {
        Verdict::Pending => {}
        Verdict::Refused(e) => assert!((400..=599).contains(&e.status()), "{e:?}"),
        Verdict::Request(request, used) => {
            let head = &input[..used];
            assert!(head.ends_with(b"\n"), "a head ends with its empty line");
            assert!(used <= max_bytes);
            assert!(request.headers.len() <= max_headers);
            assert!(request.resource().is_some(), "a target that names no resource is refused");
            match (agree(&request, &supported), validate(&request)) {
                (Ok(agreement), Ok(upgrade)) => {
                    let mut out = Vec::new();
                    agreement.write_response(&mut out, &[]);
                    let response =
                        check_response(&out, &upgrade.key, &upgrade.protocols, 64).expect("our own 101 passes");
                    assert_eq!(response.protocol.as_deref(), agreement.protocol());
                    if let Some(p) = agreement.protocol() {
                        assert!(supported.iter().any(|s| s == p) && upgrade.protocols.iter().any(|o| o == p));
                    }
                }
                (Err(a), Err(v)) => assert_eq!(a, v),
                (a, v) => panic!("agree {a:?} but validate {v:?}"),
            }
        }
    }
});
