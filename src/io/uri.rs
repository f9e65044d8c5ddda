//! ws:// and wss:// URIs (RFC 6455 §3).
