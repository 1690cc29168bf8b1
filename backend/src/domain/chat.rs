//! What users type to the assistant: a chat message, and the conversation title derived from
//! its first message.

use super::Invalid;

/// A message to the assistant: trimmed, 1 to 2000 characters, line breaks and tabs allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage(String);

impl ChatMessage {
    /// Most characters accepted.
    pub const MAX_CHARS: usize = 2000;

    /// Trims and checks a message.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Invalid::new("message must not be blank"));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(Invalid::new("message must be at most 2000 characters"));
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        {
            return Err(Invalid::new("message must not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The message as stored.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl AsRef<str> for ChatMessage {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A conversation's title: the start of its first message, on one line, at most 80 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationTitle(String);

impl ConversationTitle {
    /// Most characters kept, the ellipsis included.
    pub const MAX_CHARS: usize = 80;

    /// The title of a conversation that starts with `message`: its words joined by single
    /// spaces, cut at a word boundary (with an ellipsis) when too long.
    pub fn from_first_message(message: &ChatMessage) -> Self {
        let words: Vec<&str> = message.as_ref().split_whitespace().collect();
        let joined = words.join(" ");
        if joined.chars().count() <= Self::MAX_CHARS {
            return Self(joined);
        }
        let mut title = String::new();
        for word in &words {
            let needed =
                title.chars().count() + usize::from(!title.is_empty()) + word.chars().count();
            if needed > Self::MAX_CHARS - 1 {
                break;
            }
            if !title.is_empty() {
                title.push(' ');
            }
            title.push_str(word);
        }
        if title.is_empty() {
            // One very long word: cut it.
            title = joined.chars().take(Self::MAX_CHARS - 1).collect();
        }
        title.push('…');
        Self(title)
    }

    /// The title as stored.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl AsRef<str> for ConversationTitle {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_message_is_trimmed_and_may_span_lines() {
        let message = ChatMessage::parse("  add milk\nand bread \t").unwrap();
        assert_eq!(message.as_ref(), "add milk\nand bread");
    }

    #[test]
    fn blank_overlong_and_binary_messages_are_rejected() {
        let cases = [
            ("".to_owned(), "message must not be blank"),
            (" \n\t ".to_owned(), "message must not be blank"),
            ("x".repeat(2001), "message must be at most 2000 characters"),
            (
                "bell\u{7}".to_owned(),
                "message must not contain control characters",
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                ChatMessage::parse(&raw).unwrap_err().0,
                expected,
                "for {raw:?}"
            );
        }
        assert!(
            ChatMessage::parse(&"ü".repeat(2000)).is_ok(),
            "the limit counts characters"
        );
    }

    #[test]
    fn a_short_first_message_is_the_title_on_one_line() {
        let message = ChatMessage::parse("add   buy milk\ntomorrow").unwrap();
        assert_eq!(
            ConversationTitle::from_first_message(&message).as_ref(),
            "add buy milk tomorrow"
        );
    }

    #[test]
    fn a_long_first_message_is_cut_at_a_word_with_an_ellipsis() {
        let message = ChatMessage::parse(&"word ".repeat(40)).unwrap();
        let title = ConversationTitle::from_first_message(&message).into_inner();
        assert!(title.ends_with("word…"), "{title}");
        assert!(
            title.chars().count() <= ConversationTitle::MAX_CHARS,
            "{title}"
        );
        let one_word = ChatMessage::parse(&"x".repeat(500)).unwrap();
        let title = ConversationTitle::from_first_message(&one_word).into_inner();
        assert_eq!(title.chars().count(), ConversationTitle::MAX_CHARS);
    }

    proptest! {
        #[test]
        fn every_valid_message_gives_a_title_the_database_accepts(raw in "[a-zA-Z0-9 äöü\n!?.]{0,300}[a-z]") {
            let message = ChatMessage::parse(&raw).unwrap();
            let title = ConversationTitle::from_first_message(&message).into_inner();
            prop_assert!(!title.is_empty());
            prop_assert!(title.chars().count() <= ConversationTitle::MAX_CHARS);
            prop_assert_eq!(title.trim(), title.as_str());
            prop_assert!(!title.contains('\n'));
        }
    }
}
