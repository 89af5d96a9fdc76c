//! The JSON log line: one object per event, written straight into a buffer each thread reuses.
//!
//! `{"level":"INFO","span":{"name":"request","request_id":"…"},"target":"audit",
//! "timestamp":"2026-11-23T05:59:31.755440Z", <the event's fields>}`
//!
//! A span's fields are written as JSON once, when the span starts; an event's fields are escaped
//! into the line as they are visited. The general-purpose JSON formatters build a map of values
//! per event first (about a dozen allocations for an audit line); the access and audit lines are
//! on every request, so this writer allocates nothing per line but the copy handed to the log
//! writer thread.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Writes every event as one JSON line to `writer`.
pub struct JsonLayer<W> {
    writer: W,
}

impl<W> JsonLayer<W> {
    pub fn new(writer: W) -> Self {
        Self { writer }
    }
}

/// A span's name and fields, already JSON members: `"name":"request","request_id":"…"`.
struct SpanJson(String);

thread_local! {
    /// The line being written, reused by every event on this thread.
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut json = String::with_capacity(64);
        json.push_str("\"name\":");
        push_str_value(&mut json, attrs.metadata().name());
        attrs.record(&mut JsonFields(&mut json));
        span.extensions_mut().insert(SpanJson(json));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(SpanJson(json)) = span.extensions_mut().get_mut::<SpanJson>() {
            values.record(&mut JsonFields(json));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        LINE.with(|line| match line.try_borrow_mut() {
            Ok(mut line) => {
                self.write_line(&mut line, event, &ctx);
                // A line far longer than usual does not keep its memory for the thread's life.
                if line.capacity() > 16 * 1024 {
                    *line = String::new();
                }
            }
            // An event logged while this thread writes a line (from a `Debug` impl) gets a
            // line of its own: nothing is dropped.
            Err(_) => self.write_line(&mut String::new(), event, &ctx),
        });
    }
}

impl<W> JsonLayer<W>
where
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn write_line<S>(&self, line: &mut String, event: &Event<'_>, ctx: &Context<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        line.clear();
        let metadata = event.metadata();
        line.push_str("{\"level\":\"");
        line.push_str(metadata.level().as_str());
        line.push('"');
        if let Some(span) = ctx.event_span(event)
            && let Some(SpanJson(json)) = span.extensions().get::<SpanJson>()
        {
            line.push_str(",\"span\":{");
            line.push_str(json);
            line.push('}');
        }
        line.push_str(",\"target\":");
        push_str_value(line, metadata.target());
        line.push_str(",\"timestamp\":\"");
        let _ = SystemTime.format_time(&mut Writer::new(line));
        line.push('"');
        event.record(&mut JsonFields(line));
        line.push_str("}\n");
        let _ = self
            .writer
            .make_writer_for(metadata)
            .write_all(line.as_bytes());
    }
}

/// Appends `,"name":value` for each field visited.
struct JsonFields<'a>(&'a mut String);

impl JsonFields<'_> {
    fn key(&mut self, field: &Field) {
        self.0.push(',');
        push_str_value(self.0, field.name());
        self.0.push(':');
    }
}

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        push_str_value(self.0, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.0.push_str(if value { "true" } else { "false" });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.0, "{value}");
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.0, "{value}");
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        push_f64(self.0, value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_debug(field, &format_args!("{value}"));
    }

    /// Formatted straight into the line, escaped on the way.
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        self.0.push('"');
        let _ = write!(Escaping(self.0), "{value:?}");
        self.0.push('"');
    }
}

/// Escapes what is formatted into it as the inside of a JSON string.
struct Escaping<'a>(&'a mut String);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        push_escaped(self.0, text);
        Ok(())
    }
}

/// A float as JSON: `null` when it is not finite.
fn push_f64(line: &mut String, value: f64) {
    match value.is_finite() {
        true => {
            let _ = write!(line, "{value}");
        }
        false => line.push_str("null"),
    }
}

/// `value` as a JSON string: quoted, with `"`, `\` and control characters escaped.
fn push_str_value(line: &mut String, value: &str) {
    line.push('"');
    push_escaped(line, value);
    line.push('"');
}

fn push_escaped(line: &mut String, value: &str) {
    let mut plain_from = 0;
    for (at, c) in value.char_indices() {
        if c != '"' && c != '\\' && c >= ' ' {
            continue;
        }
        line.push_str(&value[plain_from..at]);
        match c {
            '"' => line.push_str("\\\""),
            '\\' => line.push_str("\\\\"),
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            '\t' => line.push_str("\\t"),
            control => {
                let _ = write!(line, "\\u{:04x}", control as u32);
            }
        }
        plain_from = at + c.len_utf8();
    }
    line.push_str(&value[plain_from..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The lines logged by `log`, read back as JSON.
    fn lines_of(log: impl FnOnce()) -> Vec<serde_json::Value> {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber =
            tracing_subscriber::registry().with(JsonLayer::new(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(captured.0.lock().expect("buffer").clone()).expect("utf-8");
        text.lines()
            .map(|line| serde_json::from_str(line).expect(line))
            .collect()
    }

    #[test]
    fn an_event_is_one_line_with_its_level_span_target_time_and_fields() {
        let lines = lines_of(|| {
            let span = tracing::info_span!("request", request_id = %"r-1");
            let _entered = span.enter();
            tracing::info!(target: "audit", event = "sign_in", member_id = "20277", status = 200u16,
                took = 1.5, ok = true, error = ?Some("a \"quoted\" value"), "signed in");
        });
        let [line] = lines.as_slice() else {
            panic!("one line: {lines:?}")
        };
        assert_eq!(line["level"], "INFO");
        assert_eq!(
            line["span"],
            serde_json::json!({"name": "request", "request_id": "r-1"})
        );
        assert_eq!(line["target"], "audit");
        assert!(
            line["timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z') && t.len() == 27),
            "{line}"
        );
        assert_eq!(line["event"], "sign_in");
        assert_eq!(line["member_id"], "20277");
        assert_eq!(line["status"], 200);
        assert_eq!(line["took"], 1.5);
        assert_eq!(line["ok"], true);
        assert_eq!(line["error"], "Some(\"a \\\"quoted\\\" value\")");
        assert_eq!(line["message"], "signed in");
    }

    #[test]
    fn an_event_outside_any_span_has_no_span() {
        let lines = lines_of(|| tracing::warn!(target: "config", "no span here"));
        let [line] = lines.as_slice() else {
            panic!("one line: {lines:?}")
        };
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "no span here");
        assert!(line.get("span").is_none(), "{line}");
    }

    #[test]
    fn an_event_logged_while_this_thread_writes_a_line_gets_its_own_line() {
        // As when a value's `Debug` logs: the thread's line buffer is in use.
        let lines = lines_of(|| {
            LINE.with(|line| {
                let _in_use = line.borrow_mut();
                tracing::info!(target: "inner", value = ?"a \"quoted\" value", "inner");
            })
        });
        let [line] = lines.as_slice() else {
            panic!("one line: {lines:?}")
        };
        assert_eq!(line["target"], "inner");
        assert_eq!(line["value"], "\"a \\\"quoted\\\" value\"");
    }

    #[test]
    fn strings_are_escaped_as_json_reads_them_back() {
        for value in [
            "plain",
            "quote \" and backslash \\",
            "line\nfeed\r\ttab",
            "bell \u{7} and nul \0 and unit \u{1f}",
            "ünïcödé ✓ and \u{2028}",
            "",
        ] {
            let mut line = String::new();
            push_str_value(&mut line, value);
            let read: String = serde_json::from_str(&line).expect(&line);
            assert_eq!(read, value);
        }
    }

    #[test]
    fn a_float_that_is_not_finite_is_null() {
        for (value, expected) in [(1.5f64, "1.5"), (f64::NAN, "null"), (f64::INFINITY, "null")] {
            let mut line = String::new();
            push_f64(&mut line, value);
            assert_eq!(line, expected);
        }
    }
}
