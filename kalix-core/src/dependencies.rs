//! The typed registry from which components that need more than `Default` are built.

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Values the service hands to component constructors, one per type.
///
/// A component whose struct implements `Default` needs nothing. One that holds dependencies (an
/// HTTP client, a configuration value) names a constructor with `#[action(new = path)]`; the
/// constructor receives this registry and takes what it needs by type:
///
/// ```
/// use kalix_core::{Dependencies, MissingDependency};
///
/// #[derive(Clone)]
/// struct Greeting(String);
///
/// struct Greeter {
///     greeting: Greeting,
/// }
///
/// impl Greeter {
///     fn new(deps: &Dependencies) -> Result<Self, MissingDependency> {
///         Ok(Greeter { greeting: deps.get()? })
///     }
/// }
///
/// let deps = Dependencies::new().with(Greeting("hello".into()));
/// assert_eq!(Greeter::new(&deps).unwrap().greeting.0, "hello");
/// assert!(Greeter::new(&Dependencies::new()).is_err());
/// ```
#[derive(Clone, Default)]
pub struct Dependencies {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl Dependencies {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the registry with `value` added (replacing a value of the same type).
    #[must_use]
    pub fn with<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.insert(value);
        self
    }

    /// Adds `value`, replacing a value of the same type.
    pub fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
        self.values.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// A clone of the value of type `T`, or an error naming the type if none was supplied.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Result<T, MissingDependency> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
            .cloned()
            .ok_or(MissingDependency {
                type_name: type_name::<T>(),
            })
    }
}

impl fmt::Debug for Dependencies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dependencies")
            .field("count", &self.values.len())
            .finish()
    }
}

/// A constructor asked for a dependency the service was not given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingDependency {
    type_name: &'static str,
}

impl MissingDependency {
    /// The Rust type that was asked for.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }
}

impl fmt::Display for MissingDependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no dependency of type `{}` was supplied; add it with `Service::new().dependency(value)`",
            self.type_name
        )
    }
}

impl std::error::Error for MissingDependency {}
