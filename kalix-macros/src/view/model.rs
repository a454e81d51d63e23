//! The model of a view: its tables, each with its source and update methods, and its query
//! methods, each query parsed and checked against the method that carries it.
//!
//! A view of one table names it on the block, `#[view(table = "customers")]`; a view of several
//! (whose queries join them) is `#[view]`, each update method naming the table it writes with
//! `#[table("orders")]`, as Kalix's `@Table` on each table updater.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, FnArg, Ident, ImplItem, ItemImpl, LitStr, Pat, Type};

use crate::diagnostics::Diagnostics;
use crate::handler::{ComponentKind, Handler, KnownTypes, ParamKind, Reply, generic_arg};
use crate::options::{SubscribeOptions, SubscriptionSource};
use crate::readers::attribute_name;
use crate::route::Method;
use kalix_query::{self as query, ParamUse, Query};

pub(crate) struct View {
    pub self_ty: Type,
    /// The `impl` block's doc comment, for the API description.
    pub doc: String,
    pub name: Ident,
    /// Its tables: one, or several for queries that join them.
    pub tables: Vec<Table>,
    /// The query methods' handlers, in the order of `queries`.
    pub handlers: Vec<Handler>,
    pub queries: Vec<QueryMethod>,
    /// The block's `#[acl]` and `#[jwt]`.
    pub access: crate::access::Access,
}

/// One table of a view: its name, its source and the update methods that write it.
pub(crate) struct Table {
    pub name: LitStr,
    pub source: Source,
    pub updates: Vec<Update>,
}

/// Where a view's rows come from.
pub(crate) enum Source {
    /// A value entity's state as it is.
    AsIs {
        entity: syn::Path,
        handles_deletes: bool,
    },
    /// A value entity's changes, through update methods.
    ValueEntity { entity: syn::Path },
    /// An event-sourced entity's events, through update methods.
    EventSourced { entity: syn::Path },
    /// A topic or another service's stream, through update methods.
    Topic {
        topic: LitStr,
        service: Option<LitStr>,
        consumer_group: Option<LitStr>,
    },
}

/// An update method.
pub(crate) struct Update {
    pub ident: Ident,
    pub deletes: bool,
    /// Whether messages no update method takes are skipped quietly (topic sources).
    pub ignore_unknown: bool,
    pub params: Vec<UpdateParam>,
    /// The row type of its `view::Effect<Row>`.
    pub row: Type,
}

pub(crate) enum UpdateParam {
    /// `Option<&Row>`: the current row.
    Row,
    /// `&UpdateContext`.
    Context,
    /// The new state or the event, by reference or by value.
    Payload { ty: Box<Type>, by_ref: bool },
}

/// A query method (its handler is at the same place in `View::handlers`).
pub(crate) struct QueryMethod {
    pub literal: LitStr,
    pub query: Query,
    pub stream_updates: bool,
}

/// A method signature with no body: `fn by_name(&self, name: String) -> Customer;`.
struct SignatureOnly {
    attrs: Vec<Attribute>,
    vis: syn::Visibility,
    sig: syn::Signature,
}

impl Parse for SignatureOnly {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        input.parse::<syn::Token![;]>()?;
        Ok(Self { attrs, vis, sig })
    }
}

const TABLE: &str = "table";
/// `#[table("orders")]` on an update method of a view of several tables.
const TABLE_ATTRIBUTE: &str = "table";
const SUBSCRIBE: &str = "subscribe";
const QUERY: &str = "query";

impl View {
    pub fn from_impl(
        args: TokenStream,
        item: &mut ItemImpl,
        diagnostics: &mut Diagnostics,
    ) -> Option<Self> {
        // A bad argument is reported; the block is still read, so its query methods and
        // attributes do not become errors of their own.
        let named_table = parse_args(args, diagnostics);
        if let Some((_, path, _)) = &item.trait_ {
            diagnostics.error(
                path,
                "`#[view]` goes on an inherent `impl` block, not a trait impl",
            );
        }
        if !item.generics.params.is_empty() {
            diagnostics.error(&item.generics, "a view cannot be generic");
        }
        let name = crate::readers::type_name(&item.self_ty, "view", diagnostics);
        let type_level = type_level_source(item, diagnostics);
        // Each update method with the table it writes (`None`: the block's).
        let mut updates: Vec<(Option<LitStr>, Update, SubscribeOptions)> = Vec::new();
        let mut queries = Vec::new();
        let mut handlers = Vec::new();
        let mut kept = Vec::new();
        for impl_item in std::mem::take(&mut item.items) {
            match impl_item {
                ImplItem::Fn(mut method) => {
                    if method.attrs.iter().any(|a| attribute_name(a) == QUERY) {
                        diagnostics.error(
                            &method.block,
                            "a query method has no body, the runtime runs its query: end its signature with `;`",
                        );
                        method.attrs.retain(|a| attribute_name(a) != QUERY);
                    }
                    let table = table_attribute(&mut method, diagnostics);
                    match update_method(&mut method, diagnostics) {
                        Some((update, options)) => updates.push((table, update, options)),
                        None => {
                            if let Some(table) = table {
                                diagnostics.error(
                                    &table,
                                    "`#[table(..)]` names the table an update method writes: put it beside `#[subscribe(..)]`",
                                );
                            }
                        }
                    }
                    kept.push(ImplItem::Fn(method));
                }
                ImplItem::Verbatim(tokens) => match syn::parse2::<SignatureOnly>(tokens.clone()) {
                    // Removed from the block: the runtime runs its query; clients call it.
                    Ok(signature) => {
                        if let Some((handler, query)) = query_method(signature, diagnostics) {
                            handlers.push(handler);
                            queries.push(query);
                        }
                    }
                    Err(_) => kept.push(ImplItem::Verbatim(tokens)),
                },
                other => kept.push(other),
            }
        }
        item.items = kept;
        let tables = tables(
            named_table?,
            type_level,
            updates,
            &item.self_ty,
            diagnostics,
        );
        let view = View {
            access: crate::access::Access::take(&mut item.attrs, diagnostics),
            self_ty: (*item.self_ty).clone(),
            doc: crate::readers::doc_text(&item.attrs),
            name: name?,
            tables: tables?,
            handlers,
            queries,
        };
        view.validate(diagnostics);
        Some(view)
    }

    fn validate(&self, diagnostics: &mut Diagnostics) {
        let mut routes: Vec<(String, &Handler)> = Vec::new();
        for handler in &self.handlers {
            if let Some(route) = &handler.route {
                let key = format!("{} {}", route.method.as_str(), route.template.shape());
                if let Some((_, first)) = routes.iter().find(|(k, _)| *k == key) {
                    diagnostics.error(
                        &route.template.literal,
                        format!(
                            "this route is already routed to `{}` in this view",
                            first.ident
                        ),
                    );
                } else {
                    routes.push((key, handler));
                }
            }
        }
        for (handler, query) in self.handlers.iter().zip(&self.queries) {
            check_query(self, handler, query, diagnostics);
        }
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|table| table.name.value() == name)
    }
}

impl Table {
    /// The row type.
    pub fn row(&self) -> TokenStream {
        match &self.source {
            Source::AsIs { entity, .. } => {
                let core = crate::exports::KalixCore;
                quote::quote!(<#entity as #core::value_entity::ValueEntityComponent>::State)
            }
            _ => self
                .updates
                .iter()
                .find(|u| !u.deletes)
                .or(self.updates.first())
                .map(|u| u.row.to_token_stream())
                .unwrap_or_else(|| quote::quote!(())),
        }
    }
}

/// The view's tables: the block's one, or one per `#[table(..)]` its update methods name.
fn tables(
    named: Option<LitStr>,
    type_level: Option<SubscribeOptions>,
    updates: Vec<(Option<LitStr>, Update, SubscribeOptions)>,
    self_ty: &Type,
    diagnostics: &mut Diagnostics,
) -> Option<Vec<Table>> {
    let Some(named) = named else {
        if let Some(options) = &type_level {
            diagnostics.error(
                &options.attribute,
                "a view whose rows are an entity's state as it is names its table: `#[view(table = \"customers\")]`",
            );
            return None;
        }
        // Several tables: each update method names its own.
        let mut tables: Vec<(LitStr, Vec<(Update, SubscribeOptions)>)> = Vec::new();
        for (table, update, options) in updates {
            let Some(table) = table else {
                diagnostics.error(
                    &update.ident,
                    "in a view of several tables (`#[view]` with no `table`), each update method names the table it writes: `#[table(\"orders\")]`",
                );
                continue;
            };
            match tables
                .iter_mut()
                .find(|(name, _)| name.value() == table.value())
            {
                Some((_, methods)) => methods.push((update, options)),
                None => tables.push((table, vec![(update, options)])),
            }
        }
        if tables.is_empty() {
            diagnostics.error(
                self_ty,
                "a view needs a table: `#[view(table = \"customers\")]` with its source, or update methods each with `#[table(\"..\")]` and `#[subscribe(..)]`",
            );
            return None;
        }
        let mut built = Vec::new();
        for (name, methods) in tables {
            let (updates, options): (Vec<Update>, Vec<SubscribeOptions>) =
                methods.into_iter().unzip();
            let sources: Vec<(SubscribeOptions, Ident)> = options
                .into_iter()
                .zip(updates.iter().map(|u| u.ident.clone()))
                .collect();
            let source = source(None, &sources, &updates, self_ty, diagnostics)?;
            built.push(Table {
                name,
                source,
                updates,
            });
        }
        return Some(built);
    };
    let mut sources = Vec::new();
    let mut table_updates = Vec::new();
    for (table, update, options) in updates {
        if let Some(table) = table {
            diagnostics.error(
                &table,
                "this view's table is named on the block (`#[view(table = ..)]`): for a view of several tables, write `#[view]` and name each update method's table",
            );
        }
        sources.push((options, update.ident.clone()));
        table_updates.push(update);
    }
    let source = source(type_level, &sources, &table_updates, self_ty, diagnostics)?;
    Some(vec![Table {
        name: named,
        source,
        updates: table_updates,
    }])
}

/// `#[table("orders")]` on an update method, removed; its name checked.
fn table_attribute(method: &mut syn::ImplItemFn, diagnostics: &mut Diagnostics) -> Option<LitStr> {
    let mut found: Vec<Attribute> = Vec::new();
    method.attrs.retain(|a| {
        let table = attribute_name(a) == TABLE_ATTRIBUTE;
        if table {
            found.push(a.clone());
        }
        !table
    });
    let attribute = found.first()?.clone();
    if let Some(second) = found.get(1) {
        diagnostics.error(
            second,
            "an update method writes one table: one `#[table(..)]`",
        );
    }
    match attribute.parse_args::<LitStr>() {
        Ok(name) => valid_table_name(&name, diagnostics).then_some(name),
        Err(_) => {
            diagnostics.error(
                &attribute,
                "`#[table(\"orders\")]` names the table: a string",
            );
            None
        }
    }
}

/// Whether `table` is a valid table name; if not, says so.
fn valid_table_name(table: &LitStr, diagnostics: &mut Diagnostics) -> bool {
    let name = table.value();
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 40;
    if !valid {
        diagnostics.error(
            table,
            "a table name is lowercase letters, digits and `_` (at most 40), not starting with a digit",
        );
    }
    valid
}

/// `table = "name"`: `Some(None)` for a bare `#[view]` (a view of several tables).
fn parse_args(args: TokenStream, diagnostics: &mut Diagnostics) -> Option<Option<LitStr>> {
    let mut table: Option<LitStr> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident(TABLE) {
            table = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error("unknown option of `#[view]`; expected `table = \"name\"`"))
        }
    });
    if let Err(error) = syn::parse::Parser::parse2(parser, args.clone()) {
        diagnostics.push(error);
        return None;
    }
    let Some(table) = table else {
        return Some(None);
    };
    valid_table_name(&table, diagnostics).then_some(Some(table))
}

/// `#[subscribe(value_entity = E)]` on the `impl` block: the row is the entity's state.
fn type_level_source(
    item: &mut ItemImpl,
    diagnostics: &mut Diagnostics,
) -> Option<SubscribeOptions> {
    let mut found = None;
    let mut kept = Vec::new();
    for attribute in std::mem::take(&mut item.attrs) {
        if attribute_name(&attribute) != SUBSCRIBE {
            kept.push(attribute);
            continue;
        }
        let Some(options) = SubscribeOptions::parse(&attribute, diagnostics) else {
            continue;
        };
        if options.source != SubscriptionSource::ValueEntity || options.topic.is_some() {
            diagnostics.error(
                &attribute,
                "on the `impl` block, a view subscribes to a value entity, whose state is the row as it is; \
                 for events, put `#[subscribe(event_sourced_entity = E)]` on an update method",
            );
            continue;
        }
        if found.is_some() {
            diagnostics.error(&attribute, "a view table has one source");
            continue;
        }
        found = Some(options);
    }
    item.attrs = kept;
    found
}

/// Reads an update method (one with `#[subscribe]`), removing the attribute.
fn update_method(
    method: &mut syn::ImplItemFn,
    diagnostics: &mut Diagnostics,
) -> Option<(Update, SubscribeOptions)> {
    let position = method
        .attrs
        .iter()
        .position(|a| attribute_name(a) == SUBSCRIBE)?;
    let attribute = method.attrs.remove(position);
    let options = SubscribeOptions::parse(&attribute, diagnostics)?;
    match method.sig.receiver() {
        Some(receiver) if receiver.reference.is_some() && receiver.mutability.is_none() => {}
        _ => diagnostics.error(&method.sig.ident, "an update method takes `&self`"),
    }
    if let Some(asyncness) = &method.sig.asyncness {
        diagnostics.error(asyncness, "an update method is synchronous: remove `async`");
    }
    let row = match &method.sig.output {
        syn::ReturnType::Type(_, ty) => generic_arg(ty, "Effect").cloned(),
        syn::ReturnType::Default => None,
    };
    let Some(row) = row else {
        diagnostics.error(&method.sig, "an update method returns `view::Effect<Row>`");
        return None;
    };
    let mut params = Vec::new();
    for input in &method.sig.inputs {
        let FnArg::Typed(typed) = input else { continue };
        if !matches!(typed.pat.as_ref(), Pat::Ident(_)) {
            diagnostics.error(&typed.pat, "an update method's parameter is a plain name");
            continue;
        }
        let ty = typed.ty.as_ref();
        let param = if let Some(inner) = generic_arg(ty, "Option")
            && matches!(inner, Type::Reference(_))
        {
            UpdateParam::Row
        } else if is_named(ty, "UpdateContext") {
            UpdateParam::Context
        } else if let Type::Reference(reference) = ty {
            UpdateParam::Payload {
                ty: reference.elem.clone(),
                by_ref: true,
            }
        } else {
            UpdateParam::Payload {
                ty: Box::new(ty.clone()),
                by_ref: false,
            }
        };
        if matches!(param, UpdateParam::Payload { .. }) {
            if options.handle_deletes {
                diagnostics.error(
                    ty,
                    "a `handle_deletes` update method takes no state (the entity is gone); it may take the current row, `Option<&Row>`, and `&UpdateContext`",
                );
                continue;
            }
            if params
                .iter()
                .any(|p| matches!(p, UpdateParam::Payload { .. }))
            {
                diagnostics.error(
                    ty,
                    "an update method takes one change (the state or the event)",
                );
                continue;
            }
        }
        params.push(param);
    }
    let update = Update {
        ident: method.sig.ident.clone(),
        deletes: options.handle_deletes,
        ignore_unknown: options.ignore_unknown,
        params,
        row,
    };
    if !update.deletes
        && !update
            .params
            .iter()
            .any(|p| matches!(p, UpdateParam::Payload { .. }))
    {
        diagnostics.error(
            &method.sig.ident,
            "an update method takes the change: the entity's state (`&State`) or its event",
        );
    }
    Some((update, options))
}

fn is_named(ty: &Type, name: &str) -> bool {
    let ty = match ty {
        Type::Reference(reference) => reference.elem.as_ref(),
        other => other,
    };
    matches!(ty, Type::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == name))
}

/// The table's one source, from the `impl` block or from the update methods.
fn source(
    type_level: Option<SubscribeOptions>,
    update_sources: &[(SubscribeOptions, Ident)],
    updates: &[Update],
    self_ty: &Type,
    diagnostics: &mut Diagnostics,
) -> Option<Source> {
    if let Some(options) = type_level {
        if let Some((_, first)) = update_sources.first() {
            diagnostics.error(
                first,
                "the rows of this view are the entity's state as it is (`#[subscribe]` on the `impl` block), so it has no update methods; to transform the state, remove the block's `#[subscribe]`",
            );
        }
        return Some(Source::AsIs {
            entity: options.entity,
            handles_deletes: options.handle_deletes,
        });
    }
    let Some((first, _)) = update_sources.first() else {
        diagnostics.error(
            self_ty,
            "a view needs a source: `#[subscribe(value_entity = E)]` on the `impl` block (the row is the state), or update methods with `#[subscribe(..)]`",
        );
        return None;
    };
    let source_of = |o: &SubscribeOptions| {
        format!(
            "{} {:?} {:?} {:?}",
            o.entity.to_token_stream(),
            o.topic.as_ref().map(LitStr::value),
            o.service.as_ref().map(LitStr::value),
            o.consumer_group.as_ref().map(LitStr::value)
        )
    };
    let entity = source_of(first);
    for (options, ident) in update_sources {
        if source_of(options) != entity || options.source != first.source {
            diagnostics.error(
                &options.attribute,
                format!(
                    "a view table has one source, and `{}` subscribes to another",
                    ident
                ),
            );
        }
    }
    for deletes in [false, true] {
        let mut same = updates.iter().filter(|u| u.deletes == deletes);
        if let (Some(first), Some(second)) = (same.next(), same.next()) {
            let what = if deletes { "deletes" } else { "changes" };
            diagnostics.error(
                &second.ident,
                format!(
                    "the {what} of this view's source are already handled by `{}`",
                    first.ident
                ),
            );
        }
    }
    if let Some(topic) = &first.topic {
        return Some(Source::Topic {
            topic: topic.clone(),
            service: first.service.clone(),
            consumer_group: first.consumer_group.clone(),
        });
    }
    Some(match first.source {
        SubscriptionSource::EventSourcedEntity => Source::EventSourced {
            entity: first.entity.clone(),
        },
        _ => Source::ValueEntity {
            entity: first.entity.clone(),
        },
    })
}

/// Reads a query method: its route and its `#[query("..")]`.
fn query_method(
    signature: SignatureOnly,
    diagnostics: &mut Diagnostics,
) -> Option<(Handler, QueryMethod)> {
    let SignatureOnly { attrs, vis, sig } = signature;
    let mut query_attr = None;
    let mut kept = Vec::new();
    for attribute in attrs {
        if attribute_name(&attribute) == QUERY {
            query_attr = Some(attribute);
        } else {
            kept.push(attribute);
        }
    }
    let Some(query_attr) = query_attr else {
        diagnostics.error(
            &sig.ident,
            "a method without a body in a view is a query method: add `#[query(\"SELECT ..\")]` and a route",
        );
        return None;
    };
    let has_route = kept
        .iter()
        .any(|a| Method::from_attribute(&attribute_name(a)).is_some());
    if !has_route {
        diagnostics.error(
            &sig.ident,
            "a query method needs a route, such as `#[get(\"/customers/by_name/<name>\")]`",
        );
        return None;
    }
    let (literal, stream_updates) = parse_query_attr(&query_attr, diagnostics)?;
    let mut method = syn::ImplItemFn {
        attrs: kept,
        vis,
        defaultness: None,
        sig,
        block: syn::parse_quote!({}),
    };
    let handler = Handler::from_method(
        &mut method,
        ComponentKind::View,
        None,
        &KnownTypes::default(),
        diagnostics,
    )?;
    let query = match query::parse(&literal.value()) {
        Ok(query) => query,
        Err(error) => {
            diagnostics.error(&literal, error.render(&literal.value()));
            return None;
        }
    };
    if stream_updates && !matches!(handler.reply, Reply::Stream(_)) {
        diagnostics.error(
            &query_attr,
            "`stream_updates` keeps a stream open: the method returns `view::QueryStream<Row>`",
        );
    }
    if handler.failed {
        return None;
    }
    Some((
        handler,
        QueryMethod {
            literal,
            query,
            stream_updates,
        },
    ))
}

/// `#[query("SELECT ..")]` or `#[query("SELECT ..", stream_updates = true)]`.
fn parse_query_attr(
    attribute: &Attribute,
    diagnostics: &mut Diagnostics,
) -> Option<(LitStr, bool)> {
    let parsed = attribute.parse_args_with(|input: ParseStream| {
        let literal: LitStr = input.parse()?;
        let mut stream_updates = false;
        if input.parse::<Option<syn::Token![,]>>()?.is_some() && !input.is_empty() {
            let name: Ident = input.parse()?;
            if name != "stream_updates" {
                return Err(syn::Error::new(
                    name.span(),
                    "unknown option of `#[query]`; expected `stream_updates = true`",
                ));
            }
            input.parse::<syn::Token![=]>()?;
            stream_updates = input.parse::<syn::LitBool>()?.value;
        }
        Ok((literal, stream_updates))
    });
    match parsed {
        Ok(parsed) => Some(parsed),
        Err(error) => {
            diagnostics.push(syn::Error::new(
                error.span(),
                format!("{error}: `#[query(\"SELECT * FROM table WHERE column = :param\")]`"),
            ));
            None
        }
    }
}

/// The checks the macro itself can make: the table, and that each parameter has an argument
/// and each argument a parameter.
fn check_query(
    view: &View,
    handler: &Handler,
    method: &QueryMethod,
    diagnostics: &mut Diagnostics,
) {
    let text = method.literal.value();
    let query = &method.query;
    let at = |range: &std::ops::Range<usize>, message: &str| query::render(message, &text, range);
    let mut read = vec![(&query.table, &query.table_at)];
    read.extend(query.joins.iter().map(|join| (&join.table, &join.table_at)));
    for (table, table_at) in read {
        if view.table(table).is_none() {
            let known: Vec<String> = view
                .tables
                .iter()
                .map(|t| format!("`{}`", t.name.value()))
                .collect();
            let what = if known.len() == 1 {
                format!("this view's table is {}", known[0])
            } else {
                format!("this view's tables are {}", known.join(", "))
            };
            diagnostics.error(
                &method.literal,
                at(table_at, &format!("unknown table `{table}`: {what}")),
            );
        }
    }
    let takes_body = handler
        .params
        .iter()
        .any(|p| matches!(p.kind, ParamKind::Body));
    let params = query.params();
    for (name, range, _) in &params {
        let provided = handler.params.iter().any(|p| {
            !matches!(p.kind, ParamKind::Body)
                && syn::ext::IdentExt::unraw(&p.ident) == name.as_str()
        });
        if !provided && !takes_body {
            diagnostics.error(
                &method.literal,
                at(
                    range,
                    &format!(
                        "no argument provides `:{name}`: add `{name}: T` to `fn {}` (a path or `#[query]` parameter, or a field of a body)",
                        handler.ident
                    ),
                ),
            );
        }
    }
    for param in &handler.params {
        if matches!(
            param.kind,
            ParamKind::Body | ParamKind::Context | ParamKind::State
        ) {
            continue;
        }
        let unraw = syn::ext::IdentExt::unraw(&param.ident);
        if !params.iter().any(|(name, _, _)| unraw == name.as_str()) {
            diagnostics.error(
                &param.ident,
                format!(
                    "argument `{}` is not used: the query has no `:{}`",
                    param.ident, param.ident
                ),
            );
        }
    }
    let many = matches!(handler.reply, Reply::Stream(_))
        || generic_arg(handler.reply.ty(), "Vec").is_some();
    if let Some((_, range)) = query.wrapper()
        && many
    {
        diagnostics.error(
            &method.literal,
            at(range, "`SELECT * AS field` fills one wrapper object: return the wrapper's type, not a list or stream"),
        );
    }
    for (_, range, usage) in &params {
        if matches!(usage, ParamUse::PageToken) && query.wrapper().is_none() {
            diagnostics.error(
                &method.literal,
                at(range, "token paging answers with a wrapper: `SELECT * AS items, next_page_token() AS next_page_token ..`"),
            );
        }
    }
}
