//! Code generated for a workflow: the `WorkflowComponent` impl (its steps run by name), one
//! constant per step, a typed client bound to a workflow id, one dispatch function per command
//! handler, and the registration.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::model::{Step, StepParam, Workflow, step_const};
use crate::codegen;
use crate::exports::{KalixCore, KalixCoreAt};
use crate::keyed::{self, KindCode};

pub(crate) fn generate(workflow: &Workflow) -> TokenStream {
    let keyed = &workflow.keyed;
    let (self_ty, state) = (&keyed.self_ty, &keyed.state);
    let internal = [
        (quote!(WORKFLOW_RESUME), quote!(workflow_resume)),
        (quote!(WORKFLOW_TIME_OUT), quote!(workflow_time_out)),
        (quote!(WORKFLOW_ADMIN), quote!(workflow_admin)),
    ]
    .into_iter()
    .map(|(name, dispatch)| {
        quote! {
            #KalixCore::__private::HandlerDescriptor {
                name: #KalixCore::__private::#name,
                triggers: &[],
                dispatch: #KalixCore::__private::#dispatch::<#self_ty>,
                publish: ::core::option::Option::None,
                access: #KalixCore::__private::AccessRules::NONE,
            }
        }
    })
    .collect();
    let step_names = workflow.steps.iter().map(|step| &step.name);
    let arms = workflow
        .steps
        .iter()
        .filter(|step| !step.failed)
        .map(|step| step_arm(step, state));
    let consts = workflow.steps.iter().map(|step| step_id(step, self_ty));
    let settings = match &workflow.settings {
        Some(method) => quote!(<#self_ty>::#method()),
        None => quote!(#KalixCore::workflow::Settings::new()),
    };
    let members = quote! {
        const STEPS: &'static [&'static str] = &[#(#step_names),*];
        fn settings() -> #KalixCore::workflow::Settings<Self> {
            #settings
        }
        #[allow(unused_variables)]
        fn run_step<'a>(
            &'a self,
            step: &str,
            input: #KalixCore::__private::JsonValue,
            state: ::core::option::Option<&'a #state>,
            ctx: &'a #KalixCore::workflow::StepContext,
        ) -> ::core::option::Option<#KalixCore::__private::BoxFuture<'a, #KalixCore::workflow::StepResult<Self, #state>>> {
            match step {
                #(#arms)*
                _ => ::core::option::Option::None,
            }
        }
    };
    let code = KindCode {
        kind: "Workflow",
        component_trait: quote!(#KalixCore::workflow::WorkflowComponent),
        state_param: quote!(::core::option::Option<&#state>),
        runtime: quote!(#KalixCore::__private::WorkflowRuntime),
        command: quote!(#KalixCore::__private::workflow_command),
        context: quote!(#KalixCore::workflow::WorkflowContext),
        default_constructor: quote!(#KalixCore::__private::default_workflow),
        constructor: quote!(#KalixCore::__private::construct_workflow),
    };
    let component = keyed::generate(keyed, code, members, internal);
    codegen::wrap(quote! {
        #component

        #[allow(dead_code)]
        impl #self_ty {
            #(#consts)*
        }
    })
}

/// The arm of `run_step` that runs `step`: its input read from JSON, its state as it takes it.
fn step_arm(step: &Step, state: &syn::Type) -> TokenStream {
    let name = &step.name;
    let ident = &step.ident;
    let input = step.input.as_ref().map(|ty| {
        let core = KalixCoreAt(ty.span());
        quote_spanned!(ty.span()=> let __kalix_input: #ty = #core::__private::step_input::<#ty>(#name, input)?;)
    });
    let state_arg = step.state.as_ref().map(|ty| {
        let core = KalixCoreAt(ty.span());
        quote_spanned!(ty.span()=> let __kalix_state: #ty = <#ty as #core::__private::StepState<'_, #state>>::from_state(state, #name)?;)
    });
    let args = step.order.iter().map(|param| match param {
        StepParam::State => quote!(__kalix_state),
        StepParam::Input => quote!(__kalix_input),
        StepParam::Context => quote!(ctx),
    });
    quote! {
        #name => ::core::option::Option::Some(::std::boxed::Box::pin(async move {
            #input
            #state_arg
            self.#ident(#(#args),*).await
        })),
    }
}

/// The step constants alone, for a workflow whose model could not be built.
pub(super) fn step_constants(self_ty: &syn::Type, steps: &[Step]) -> TokenStream {
    let constants = steps.iter().map(|step| step_id(step, self_ty));
    quote! {
        #[allow(dead_code)]
        impl #self_ty {
            #(#constants)*
        }
    }
}

/// `pub const WITHDRAW: StepId<Self, Input> = StepId::new("withdraw");`
fn step_id(step: &Step, self_ty: &syn::Type) -> TokenStream {
    let constant = step_const(step);
    let name = &step.name;
    let vis = &step.vis;
    let input = match &step.input {
        Some(ty) => quote!(#ty),
        None => quote!(()),
    };
    let doc = format!(
        "The step `{}` ([`Self::{}`]), for transitions.",
        name.value(),
        step.ident
    );
    quote! {
        #[doc = #doc]
        #vis const #constant: #KalixCore::workflow::StepId<#self_ty, #input> = #KalixCore::workflow::StepId::new(#name);
    }
}
