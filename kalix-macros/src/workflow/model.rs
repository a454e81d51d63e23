//! The model of a workflow: its command handlers (as an entity's), its steps and its settings.

use proc_macro2::TokenStream;
use syn::{FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, LitStr, Pat, Type};

use crate::diagnostics::Diagnostics;
use crate::entity::{Header, handlers_and_state};
use crate::handler::{ComponentKind, generic_arg};
use crate::keyed::Keyed;
use crate::options::{FORWARD_HEADERS, ID, NEW, STATE, TYPE_ID};

pub(crate) struct Workflow {
    pub keyed: Keyed,
    pub steps: Vec<Step>,
    /// The `#[settings]` method.
    pub settings: Option<Ident>,
}

/// A `#[step]` method.
pub(crate) struct Step {
    pub ident: Ident,
    pub vis: syn::Visibility,
    /// Its name, as stored and logged.
    pub name: LitStr,
    /// How it takes the state, if it does (`&State` or `Option<&State>`).
    pub state: Option<Type>,
    /// Its input type, if it takes one.
    pub input: Option<Type>,
    /// The order of its parameters: which of state, input, context each is.
    pub order: Vec<StepParam>,
    /// Whether an error was reported for it: it keeps its constant (so transitions to it do not
    /// fail too) but is not run.
    pub failed: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepParam {
    State,
    Input,
    Context,
}

const STEP: &str = "step";
const SETTINGS: &str = "settings";

impl Workflow {
    /// The workflow's model, or, when it cannot be built, the steps that were read (their
    /// constants are still generated, so transitions to them add no errors of their own).
    pub fn from_impl(
        args: TokenStream,
        item: &mut ItemImpl,
        diagnostics: &mut Diagnostics,
    ) -> Result<Self, Vec<Step>> {
        let header = Header::read(
            args,
            item,
            "workflow",
            &[TYPE_ID, ID, STATE, NEW, FORWARD_HEADERS],
            ("\"transfer\"", "\"transfer_id\""),
            diagnostics,
        );
        // Steps and settings first: their attributes are removed before handlers are read.
        let mut steps = steps(item, diagnostics);
        let settings = settings(item, diagnostics);
        let (handlers, state) = handlers_and_state(
            item,
            ComponentKind::Workflow,
            "workflow",
            header.id.as_ref(),
            header.options.state.clone(),
            diagnostics,
        );
        check_unique_steps(&mut steps, diagnostics);
        let Some(keyed) = Keyed::assemble(item, "workflow", header, state, handlers, diagnostics)
        else {
            return Err(steps);
        };
        Ok(Workflow {
            keyed,
            steps,
            settings,
        })
    }
}

/// Whether `method` carries `#[name]` (or `#[name(..)]`); removes it.
fn take_attribute(method: &mut ImplItemFn, name: &str) -> Option<syn::Attribute> {
    let index = method
        .attrs
        .iter()
        .position(|attribute| attribute.path().is_ident(name))?;
    Some(method.attrs.remove(index))
}

fn steps(item: &mut ItemImpl, diagnostics: &mut Diagnostics) -> Vec<Step> {
    let mut steps = Vec::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let Some(attribute) = take_attribute(method, STEP) else {
            continue;
        };
        if let Some(step) = step(method, &attribute, diagnostics) {
            steps.push(step);
        }
    }
    steps
}

fn step(
    method: &ImplItemFn,
    attribute: &syn::Attribute,
    diagnostics: &mut Diagnostics,
) -> Option<Step> {
    let before = diagnostics.count();
    let ident = method.sig.ident.clone();
    let mut name = LitStr::new(&ident.to_string().replace('_', "-"), ident.span());
    if !matches!(attribute.meta, syn::Meta::Path(_)) {
        let parsed = attribute.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                name = meta.value()?.parse()?;
                Ok(())
            } else {
                Err(meta.error("`#[step]` takes one option: `name = \"step-name\"`"))
            }
        });
        if let Err(error) = parsed {
            diagnostics.push(error);
        }
    }
    if name.value().is_empty() {
        diagnostics.error(&name, "a step's name cannot be empty");
    }
    if method.sig.asyncness.is_none() {
        diagnostics.error(
            method.sig.fn_token,
            "a step is `async`: it makes a call (or runs any future) and maps its result to a transition",
        );
    }
    if !method.sig.generics.params.is_empty() {
        diagnostics.error(&method.sig.generics, "a step cannot be generic");
    }
    match method.sig.receiver() {
        Some(receiver) if receiver.reference.is_some() && receiver.mutability.is_none() => {}
        _ => diagnostics.error(
            &method.sig.ident,
            "a step takes `&self` as its first parameter",
        ),
    }
    let mut state = None;
    let mut input: Option<Type> = None;
    let mut takes_context = false;
    let mut order = Vec::new();
    for arg in &method.sig.inputs {
        let FnArg::Typed(typed) = arg else { continue };
        if !matches!(typed.pat.as_ref(), Pat::Ident(_)) {
            diagnostics.error(&typed.pat, "a step parameter is a plain name");
            continue;
        }
        let ty = (*typed.ty).clone();
        if is_step_context(&ty) {
            if takes_context {
                diagnostics.error(&ty, "a step takes `&StepContext` once");
            }
            takes_context = true;
            order.push(StepParam::Context);
        } else if matches!(ty, Type::Reference(_))
            || generic_arg(&ty, "Option").is_some_and(|inner| matches!(inner, Type::Reference(_)))
        {
            if state.is_some() {
                diagnostics.error(
                    &ty,
                    "a step takes the workflow's state once (`&State` or `Option<&State>`)",
                );
            }
            state = Some(ty);
            order.push(StepParam::State);
        } else {
            if input.is_some() {
                diagnostics.error(
                    &ty,
                    "a step takes at most one input (what its transition passes); put several values in one struct",
                );
                continue;
            }
            input = Some(ty);
            order.push(StepParam::Input);
        }
    }
    Some(Step {
        ident,
        vis: method.vis.clone(),
        name,
        state,
        input,
        order,
        failed: diagnostics.count() != before,
    })
}

fn is_step_context(ty: &Type) -> bool {
    let Type::Reference(reference) = ty else {
        return false;
    };
    matches!(reference.elem.as_ref(), Type::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == "StepContext"))
}

fn settings(item: &mut ItemImpl, diagnostics: &mut Diagnostics) -> Option<Ident> {
    let mut found: Option<Ident> = None;
    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let Some(attribute) = take_attribute(method, SETTINGS) else {
            continue;
        };
        let before = diagnostics.count();
        if !matches!(attribute.meta, syn::Meta::Path(_)) {
            diagnostics.error(&attribute, "`#[settings]` takes no options");
        }
        if !method.sig.inputs.is_empty() {
            diagnostics.error(
                &method.sig.inputs,
                "the `#[settings]` method takes no parameters: `fn settings() -> workflow::Settings<Self>`",
            );
        }
        if method.sig.asyncness.is_some() {
            diagnostics.error(
                method.sig.asyncness,
                "the `#[settings]` method is not `async`",
            );
        }
        if let Some(first) = &found {
            diagnostics.error(
                &method.sig.ident,
                format!("a workflow has one `#[settings]` method, and `{first}` is already it"),
            );
        } else if diagnostics.count() == before {
            // One that has errors is not called: its errors are the only ones.
            found = Some(method.sig.ident.clone());
        }
    }
    found
}

fn check_unique_steps(steps: &mut [Step], diagnostics: &mut Diagnostics) {
    for index in 0..steps.len() {
        let (earlier, rest) = steps.split_at_mut(index);
        let step = &mut rest[0];
        let Some(first) = earlier.iter().find(|s| s.name.value() == step.name.value()) else {
            continue;
        };
        diagnostics.error(
            &step.name,
            format!(
                "step name \"{}\" is already the name of `{}`; step names are unique",
                step.name.value(),
                first.ident
            ),
        );
        // Not run: the name already runs the first.
        step.failed = true;
    }
}

/// The constant naming a step: `WITHDRAW` for `fn withdraw`.
pub(crate) fn step_const(step: &Step) -> Ident {
    let text = step.ident.to_string();
    let text = text.strip_prefix("r#").unwrap_or(&text);
    Ident::new(&text.to_uppercase(), step.ident.span())
}
