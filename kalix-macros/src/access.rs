//! `#[acl(..)]` and `#[jwt(..)]` on a component's `impl` block or on a handler: parse, check,
//! and generate the `AccessRules` of its descriptor.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::{Attribute, LitInt, LitStr, Token};

use crate::diagnostics::Diagnostics;
use crate::exports::KalixCore;
use crate::readers::attribute_name;

pub(crate) const ACL: &str = "acl";
pub(crate) const JWT: &str = "jwt";

/// The `#[acl]` and `#[jwt]` of a component or a handler.
#[derive(Default)]
pub(crate) struct Access {
    acl: Option<AclModel>,
    jwt: Option<JwtModel>,
}

struct AclModel {
    allow: Vec<MatcherModel>,
    deny: Vec<MatcherModel>,
    deny_code: Option<LitInt>,
}

enum MatcherModel {
    Internet,
    All,
    Service(LitStr),
}

struct JwtModel {
    issuers: Vec<LitStr>,
    claims: Vec<ClaimModel>,
}

struct ClaimModel {
    name: LitStr,
    check: ClaimCheck,
}

enum ClaimCheck {
    Values(Vec<LitStr>),
    Pattern(LitStr),
}

impl Access {
    /// Whether `attribute` is one this module reads.
    pub fn is_access(attribute: &Attribute) -> bool {
        matches!(attribute_name(attribute).as_str(), ACL | JWT)
    }

    /// Reads (and removes) the `#[acl]` and `#[jwt]` of `attrs`.
    pub fn take(attrs: &mut Vec<Attribute>, diagnostics: &mut Diagnostics) -> Self {
        let mut access = Self::default();
        let mut kept = Vec::with_capacity(attrs.len());
        for attribute in std::mem::take(attrs) {
            match attribute_name(&attribute).as_str() {
                ACL if access.acl.is_some() => {
                    diagnostics.error(&attribute, "one `#[acl]` here; merge them into one");
                }
                ACL => access.acl = parse_acl(&attribute, diagnostics),
                JWT if access.jwt.is_some() => {
                    diagnostics.error(&attribute, "one `#[jwt]` here; merge them into one");
                }
                JWT => access.jwt = parse_jwt(&attribute, diagnostics),
                _ => kept.push(attribute),
            }
        }
        *attrs = kept;
        access
    }

    /// The descriptor's `AccessRules`.
    pub fn tokens(&self) -> TokenStream {
        let acl = match &self.acl {
            None => quote!(::core::option::Option::None),
            Some(acl) => {
                let allow = acl.allow.iter().map(MatcherModel::tokens);
                let deny = acl.deny.iter().map(MatcherModel::tokens);
                let deny_code = match &acl.deny_code {
                    None => quote!(::core::option::Option::None),
                    // Checked against Kalix's error codes where it is written.
                    Some(code) => quote_spanned! {code.span()=>
                        ::core::option::Option::Some(
                            match #KalixCore::__private::ErrorCode::from_u16(#code) {
                                ::core::option::Option::Some(code) => code,
                                ::core::option::Option::None => ::core::panic!(
                                    "deny_code must be one of Kalix's error codes: 400, 401, 403, 404, 409, 429, 500, 503, 504"
                                ),
                            }
                        )
                    },
                };
                quote! {{
                    static ACL: #KalixCore::__private::Acl = #KalixCore::__private::Acl::from_static(
                        &[#(#allow),*],
                        &[#(#deny),*],
                        #deny_code,
                    );
                    ::core::option::Option::Some(&ACL)
                }}
            }
        };
        let jwt = match &self.jwt {
            None => quote!(::core::option::Option::None),
            Some(jwt) => {
                let issuers = &jwt.issuers;
                let claims = jwt.claims.iter().map(|claim| {
                    let name = &claim.name;
                    let check = match &claim.check {
                        ClaimCheck::Values(values) => {
                            quote!(#KalixCore::__private::ClaimCheck::Values(&[#(#values),*]))
                        }
                        ClaimCheck::Pattern(pattern) => {
                            quote!(#KalixCore::__private::ClaimCheck::Pattern(#pattern))
                        }
                    };
                    quote!(#KalixCore::__private::ClaimRule { name: #name, check: #check })
                });
                quote! {{
                    static JWT: #KalixCore::__private::JwtRule =
                        #KalixCore::__private::JwtRule::new(&[#(#issuers),*], &[#(#claims),*]);
                    ::core::option::Option::Some(&JWT)
                }}
            }
        };
        quote!(#KalixCore::__private::AccessRules { acl: #acl, jwt: #jwt })
    }
}

impl MatcherModel {
    fn tokens(&self) -> TokenStream {
        match self {
            MatcherModel::Internet => quote!(#KalixCore::__private::Matcher::Internet),
            MatcherModel::All => quote!(#KalixCore::__private::Matcher::All),
            MatcherModel::Service(glob) => quote!(#KalixCore::__private::Matcher::Service(
                #KalixCore::__private::Cow::Borrowed(#glob)
            )),
        }
    }
}

const ACL_USAGE: &str = "expected `allow(principal = \"internet\" | \"all\")`, `allow(service = \"<glob>\")`, `deny(..)` alike, or `deny_code = 404`";

fn parse_acl(attribute: &Attribute, diagnostics: &mut Diagnostics) -> Option<AclModel> {
    let mut acl = AclModel {
        allow: Vec::new(),
        deny: Vec::new(),
        deny_code: None,
    };
    if matches!(attribute.meta, syn::Meta::Path(_)) {
        diagnostics.error(
            attribute,
            format!("`#[acl]` lists who may call: {ACL_USAGE}"),
        );
        return None;
    }
    let parsed = attribute.parse_nested_meta(|meta| {
        if meta.path.is_ident("allow") {
            acl.allow.extend(parse_matcher(&meta)?);
        } else if meta.path.is_ident("deny") {
            acl.deny.extend(parse_matcher(&meta)?);
        } else if meta.path.is_ident("deny_code") {
            let code: LitInt = meta.value()?.parse()?;
            code.base10_parse::<u16>()?;
            acl.deny_code = Some(code);
        } else {
            return Err(meta.error(format!("unknown option of `#[acl]`; {ACL_USAGE}")));
        }
        Ok(())
    });
    match parsed {
        Ok(()) => Some(acl),
        Err(error) => {
            diagnostics.push(error);
            None
        }
    }
}

/// `(principal = "internet")`, `(service = "billing")`, or `()`: one matcher or none.
fn parse_matcher(meta: &ParseNestedMeta) -> syn::Result<Option<MatcherModel>> {
    let mut found: Option<MatcherModel> = None;
    if meta.input.is_empty() || meta.input.peek(Token![,]) {
        return Err(meta.error(format!(
            "write the matcher in parentheses: {ACL_USAGE}; `allow()` allows no one"
        )));
    }
    meta.parse_nested_meta(|inner| {
        if found.is_some() {
            return Err(inner.error(
                "one matcher per `allow(..)` or `deny(..)`: write `principal` and `service` in two",
            ));
        }
        let value: LitStr = inner.value()?.parse()?;
        if inner.path.is_ident("principal") {
            found = Some(match value.value().as_str() {
                "internet" => MatcherModel::Internet,
                "all" => MatcherModel::All,
                _ => {
                    return Err(syn::Error::new(
                        value.span(),
                        "a principal is \"internet\" or \"all\"; name services with `service = \"..\"`",
                    ));
                }
            });
        } else if inner.path.is_ident("service") {
            if value.value().is_empty() {
                return Err(syn::Error::new(
                    value.span(),
                    "a service name or glob, such as \"billing\" or \"*\"",
                ));
            }
            found = Some(MatcherModel::Service(value));
        } else {
            return Err(inner.error("expected `principal = \"..\"` or `service = \"..\"`"));
        }
        Ok(())
    })?;
    Ok(found)
}

const JWT_USAGE: &str = "expected `issuer = \"https://..\"` or `claim(name = \"..\", values = [\"..\"])` or `claim(name = \"..\", pattern = \"..\")`";

fn parse_jwt(attribute: &Attribute, diagnostics: &mut Diagnostics) -> Option<JwtModel> {
    let mut jwt = JwtModel {
        issuers: Vec::new(),
        claims: Vec::new(),
    };
    if matches!(attribute.meta, syn::Meta::Path(_)) {
        // `#[jwt]`: a valid token from any issuer the keys verify.
        return Some(jwt);
    }
    let parsed = attribute.parse_nested_meta(|meta| {
        if meta.path.is_ident("issuer") {
            jwt.issuers.push(meta.value()?.parse()?);
        } else if meta.path.is_ident("claim") {
            jwt.claims.push(parse_claim(&meta)?);
        } else {
            return Err(meta.error(format!("unknown option of `#[jwt]`; {JWT_USAGE}")));
        }
        Ok(())
    });
    match parsed {
        Ok(()) => Some(jwt),
        Err(error) => {
            diagnostics.push(error);
            None
        }
    }
}

fn parse_claim(meta: &ParseNestedMeta) -> syn::Result<ClaimModel> {
    let mut name: Option<LitStr> = None;
    let mut values: Option<Vec<LitStr>> = None;
    let mut pattern: Option<LitStr> = None;
    meta.parse_nested_meta(|inner| {
        if inner.path.is_ident("name") {
            name = Some(inner.value()?.parse()?);
        } else if inner.path.is_ident("values") {
            let value = inner.value()?;
            let content;
            syn::bracketed!(content in value);
            let list = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
            if pattern.is_some() {
                return Err(inner.error("a claim has `values` or a `pattern`, not both"));
            }
            values = Some(list.into_iter().collect());
        } else if inner.path.is_ident("pattern") {
            let literal: LitStr = inner.value()?.parse()?;
            if values.is_some() {
                return Err(inner.error("a claim has `values` or a `pattern`, not both"));
            }
            if let Err(error) = regex_syntax::Parser::new().parse(&literal.value()) {
                return Err(syn::Error::new(
                    literal.span(),
                    format!("not a valid regular expression:\n{error}"),
                ));
            }
            pattern = Some(literal);
        } else {
            return Err(
                inner.error("expected `name = \"..\"`, `values = [\"..\"]` or `pattern = \"..\"`")
            );
        }
        Ok(())
    })?;
    let Some(name) = name else {
        return Err(meta.error("a claim needs its `name = \"..\"`"));
    };
    let check = match (values, pattern) {
        (Some(values), None) if !values.is_empty() => ClaimCheck::Values(values),
        (None, Some(pattern)) => ClaimCheck::Pattern(pattern),
        _ => {
            return Err(meta.error(
                "a claim needs `values = [\"..\"]` (all required) or `pattern = \"..\"` (a regex)",
            ));
        }
    };
    Ok(ClaimModel { name, check })
}
