//! `view::Effect`: what a view's update method asks for its row.

/// What an update method returns: the row's new value, its removal, nothing, or a failure.
///
/// ```
/// use kalix_core::view;
///
/// fn on_rename(row: Option<&String>, name: &str) -> view::Effect<String> {
///     match row {
///         Some(_) => view::Effect::update_state(name.to_owned()),
///         None => view::Effect::ignore(),
///     }
/// }
/// assert!(on_rename(None, "x").is_ignore());
/// ```
#[must_use = "an effect does nothing unless the update method returns it"]
#[derive(Debug, Clone, PartialEq)]
pub enum Effect<Row> {
    /// The row becomes this.
    Update(Row),
    /// The row is removed.
    Delete,
    /// The row stays as it is.
    Ignore,
    /// The update failed; it is tried again (1 s, doubling to 30 s) until it succeeds.
    Error(String),
}

impl<Row> Effect<Row> {
    /// The row becomes `row`.
    pub fn update_state(row: Row) -> Self {
        Effect::Update(row)
    }

    /// The row is removed.
    pub fn delete_state() -> Self {
        Effect::Delete
    }

    /// The row stays as it is.
    pub fn ignore() -> Self {
        Effect::Ignore
    }

    /// The update failed with `description`; the same update is tried again later.
    pub fn error(description: impl Into<String>) -> Self {
        Effect::Error(description.into())
    }

    /// Whether this leaves the row as it is.
    pub fn is_ignore(&self) -> bool {
        matches!(self, Effect::Ignore)
    }

    /// The new row, if this updates it.
    pub fn updated(&self) -> Option<&Row> {
        match self {
            Effect::Update(row) => Some(row),
            _ => None,
        }
    }
}

/// What an update method may know about the change it handles.
#[derive(Debug, Clone)]
pub struct UpdateContext {
    pub(crate) subject: String,
    pub(crate) event_name: Option<String>,
}

impl UpdateContext {
    /// A context for a unit test of an update method: the change of entity `subject`.
    pub fn for_subject(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            event_name: None,
        }
    }

    /// The id of the entity whose change this is (the row's key), or a topic message's
    /// `ce-subject`; `None` for a message without one. The same shape as
    /// `ActionContext::event_subject`.
    pub fn event_subject(&self) -> Option<&str> {
        (!self.subject.is_empty()).then_some(self.subject.as_str())
    }

    /// The event's type name, for an event-sourced source.
    pub fn event_name(&self) -> Option<&str> {
        self.event_name.as_deref()
    }
}
