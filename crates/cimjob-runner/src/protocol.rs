//! The progress protocol as plain values: bytes go in, events or reasons to ignore a line come
//! out. No I/O here, so every rule is a fast unit test.

use super::RunnerEvent;

/// The longest line (without its newline) the work may write to the progress descriptor, and
/// the longest answer we write back. Longer lines are dropped whole, so a runaway writer
/// costs at most this much memory per run.
pub const MAX_LINE: usize = 4096;

/// Why a line from the work was ignored. Shown in a `tracing::warn`, never fatal to the run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum LineError {
    #[error("line of {length} bytes is longer than the {MAX_LINE} allowed")]
    TooLong { length: usize },
    #[error("line is not UTF-8")]
    NotUtf8,
    #[error("`progress` needs a whole number from 0 to 100 first, got {given:?}")]
    BadPercent { given: String },
    #[error("unknown keyword {keyword:?}: expected `progress` or `query`")]
    UnknownKeyword { keyword: String },
}

/// Splits the byte stream from the work into lines of at most [`MAX_LINE`] bytes, holding at
/// most one partial line.
#[derive(Debug, Default)]
pub(super) struct LineSplitter {
    partial: Vec<u8>,
    /// `Some(n)` while skipping the rest of a line that already exceeded the limit by `n` bytes.
    overflow: Option<usize>,
}

impl LineSplitter {
    /// Feeds bytes read from the socket; calls `line` for each completed line, in order.
    pub(super) fn push(
        &mut self,
        mut data: &[u8],
        line: &mut impl FnMut(Result<&[u8], LineError>),
    ) {
        while !data.is_empty() {
            let (segment, complete) = match data.iter().position(|&b| b == b'\n') {
                Some(end) => (&data[..end], true),
                None => (data, false),
            };
            data = &data[segment.len() + usize::from(complete)..];
            match self.overflow.as_mut() {
                Some(length) => *length += segment.len(),
                None if self.partial.len() + segment.len() > MAX_LINE => {
                    self.overflow = Some(self.partial.len() + segment.len());
                    self.partial = Vec::new();
                }
                None => self.partial.extend_from_slice(segment),
            }
            if complete {
                self.end_line(line);
            }
        }
    }

    /// No more bytes will come (EOF, or the work's group is dead): a last line without a
    /// newline still counts.
    pub(super) fn finish(&mut self, line: &mut impl FnMut(Result<&[u8], LineError>)) {
        if !self.partial.is_empty() || self.overflow.is_some() {
            self.end_line(line);
        }
    }

    fn end_line(&mut self, line: &mut impl FnMut(Result<&[u8], LineError>)) {
        match self.overflow.take() {
            Some(length) => line(Err(LineError::TooLong { length })),
            None => line(Ok(&self.partial)),
        }
        self.partial.clear();
    }
}

/// Reads one line: `progress N [text]`, `query <text>`, or blank (`Ok(None)`).
pub(super) fn parse_line(line: &[u8]) -> Result<Option<RunnerEvent>, LineError> {
    let line = std::str::from_utf8(line).map_err(|_| LineError::NotUtf8)?;
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim_start();
    match keyword {
        "progress" => {
            let (number, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let percent = number
                .parse::<u16>()
                .ok()
                .filter(|percent| *percent <= 100)
                .ok_or_else(|| LineError::BadPercent {
                    given: preview(number),
                })?;
            let text = text.trim();
            Ok(Some(RunnerEvent::Progress {
                percent,
                text: (!text.is_empty()).then(|| text.to_owned()),
            }))
        }
        "query" => Ok(Some(RunnerEvent::Query {
            text: rest.to_owned(),
        })),
        other => Err(LineError::UnknownKeyword {
            keyword: preview(other),
        }),
    }
}

/// At most 40 characters of what the work wrote, so a warning stays one readable line.
fn preview(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(chunks: &[&[u8]], eof: bool) -> Vec<Result<Vec<u8>, LineError>> {
        let mut splitter = LineSplitter::default();
        let mut out = Vec::new();
        let mut collect = |line: Result<&[u8], LineError>| out.push(line.map(<[u8]>::to_vec));
        for chunk in chunks {
            splitter.push(chunk, &mut collect);
        }
        if eof {
            splitter.finish(&mut collect);
        }
        out
    }

    #[test]
    fn a_line_split_across_reads_is_joined() {
        assert_eq!(
            lines_of(&[b"progr", b"ess 5\nque", b"ry x\n"], false),
            vec![Ok(b"progress 5".to_vec()), Ok(b"query x".to_vec())]
        );
    }

    #[test]
    fn a_last_line_without_newline_counts_only_at_eof() {
        assert_eq!(lines_of(&[b"progress 7"], false), vec![]);
        assert_eq!(
            lines_of(&[b"progress 7"], true),
            vec![Ok(b"progress 7".to_vec())]
        );
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_kept() {
        let mut line = vec![b'x'; MAX_LINE];
        line.push(b'\n');
        assert_eq!(lines_of(&[&line], false), vec![Ok(vec![b'x'; MAX_LINE])]);
    }

    #[test]
    fn a_longer_line_is_dropped_whole_and_the_next_line_is_read() {
        let long = vec![b'x'; MAX_LINE + 10];
        assert_eq!(
            lines_of(&[&long, &long, b"\nprogress 1\n"], false),
            vec![
                Err(LineError::TooLong {
                    length: 2 * (MAX_LINE + 10)
                }),
                Ok(b"progress 1".to_vec())
            ]
        );
    }

    fn progress(percent: u16, text: Option<&str>) -> Result<Option<RunnerEvent>, LineError> {
        Ok(Some(RunnerEvent::Progress {
            percent,
            text: text.map(str::to_owned),
        }))
    }

    #[test]
    fn progress_lines() {
        let table: &[(&str, Result<Option<RunnerEvent>, LineError>)] = &[
            ("progress 0", progress(0, None)),
            ("progress 100", progress(100, None)),
            (
                "progress 42 Copying  files ",
                progress(42, Some("Copying  files")),
            ),
            ("progress\t7\tx\r", progress(7, Some("x"))),
            ("  progress 7", progress(7, None)),
            (
                "progress 101",
                Err(LineError::BadPercent {
                    given: "101".into(),
                }),
            ),
            (
                "progress -1",
                Err(LineError::BadPercent { given: "-1".into() }),
            ),
            (
                "progress 4.5 x",
                Err(LineError::BadPercent {
                    given: "4.5".into(),
                }),
            ),
            ("progress", Err(LineError::BadPercent { given: "".into() })),
        ];
        for (line, expected) in table {
            assert_eq!(&parse_line(line.as_bytes()), expected, "line {line:?}");
        }
    }

    #[test]
    fn query_lines_keep_their_text() {
        assert_eq!(
            parse_line(b"query Load paper in tray 2?"),
            Ok(Some(RunnerEvent::Query {
                text: "Load paper in tray 2?".into()
            }))
        );
        assert_eq!(
            parse_line(b"query"),
            Ok(Some(RunnerEvent::Query { text: "".into() }))
        );
    }

    #[test]
    fn blank_lines_are_nothing_and_others_are_errors() {
        assert_eq!(parse_line(b"   \r"), Ok(None));
        assert_eq!(parse_line(b"\xff progress 1"), Err(LineError::NotUtf8));
        assert_eq!(
            parse_line(b"Progress 1"),
            Err(LineError::UnknownKeyword {
                keyword: "Progress".into()
            })
        );
        let long_word = "y".repeat(100);
        assert_eq!(
            parse_line(long_word.as_bytes()),
            Err(LineError::UnknownKeyword {
                keyword: format!("{}…", "y".repeat(40))
            })
        );
    }
}
