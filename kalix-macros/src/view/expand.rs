//! Code generated for a view: the `ViewComponent` impl, each query's checked text for the runtime
//! to parse once and translate into SQL, a dispatch function per query method, an apply function per update
//! method, the registrations, and a function that is never called whose body checks every
//! query against the row, argument and return types (the compiler reports at the query).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, Type};

use super::model::{QueryMethod, Source, Table, Update, UpdateParam, View};
use crate::codegen::{self, ClientTarget, dispatch_ident, extractions};
use crate::exports::{KalixCore, KalixCoreAt};
use crate::handler::{Handler, ParamKind, QueryShape, Reply, generic_arg};
use kalix_query::{Column, Expr, Operand, ParamUse, SelectItem};

pub(crate) fn generate(view: &View) -> TokenStream {
    let self_ty = &view.self_ty;
    let name = view.name.to_string();
    let client = codegen::client_ident(&view.name);
    let component_trait = quote!(#KalixCore::view::ViewComponent);
    // A view of several tables has no one row type.
    let row = match &view.tables[..] {
        [table] => table.row(),
        _ => quote!(()),
    };
    let target = ClientTarget {
        component_trait: component_trait.clone(),
        self_ty,
        name: &view.name,
        id_param: None,
    };
    let client_methods = view
        .handlers
        .iter()
        .filter(|h| matches!(h.reply, Reply::Unary(_)))
        .map(|h| codegen::client_method(&target, h))
        .collect();
    let methods = || view.handlers.iter().zip(&view.queries);
    let statics: Vec<TokenStream> = methods().map(|(h, q)| query_static(h, q)).collect();
    let dispatch_fns = methods().map(|(h, q)| dispatch_fn(h, q)).collect();
    let shared = codegen::shared_items(codegen::Generated {
        self_ty,
        name: &view.name,
        kind: "View",
        component_trait,
        stores: false,
        client_fields: TokenStream::new(),
        client_methods,
        dispatch_fns,
        handlers: &view.handlers,
        access: &view.access,
        forward_headers: &[],
        construct: quote!(#KalixCore::__private::construct_view_queries),
        internal_handlers: Vec::new(),
        doc: &view.doc,
    });
    let updates: Vec<TokenStream> = view
        .tables
        .iter()
        .flat_map(|table| table.updates.iter().map(move |u| apply_fn(view, table, u)))
        .collect();
    let descriptors: Vec<TokenStream> = view
        .tables
        .iter()
        .map(|table| view_descriptor(view, table))
        .collect();
    let checks = checks(view);
    codegen::wrap(quote! {
        #[automatically_derived]
        impl #KalixCore::view::ViewComponent for #self_ty {
            const COMPONENT_ID: &'static str = ::core::concat!(::core::module_path!(), "::", #name);
            type Row = #row;
            type Client = #client;
            fn client(client: #KalixCore::ComponentClient) -> #client {
                #client { client }
            }
        }

        #(#statics)*
        #(#updates)*
        #(#descriptors)*
        #checks
        #shared
    })
}

fn query_ident(handler: &Handler) -> Ident {
    format_ident!("__KALIX_QUERY_{}", handler.ident)
}

fn update_ident(update: &Update) -> Ident {
    format_ident!("__kalix_update_{}", update.ident)
}

/// `static __KALIX_QUERY_method: ViewQuery = ViewQuery::new("SELECT ..", stream_updates);`: the
/// text was parsed and checked here; the runtime parses it again, with the same parser, on first
/// use.
fn query_static(handler: &Handler, method: &QueryMethod) -> TokenStream {
    let p = quote!(#KalixCore::__private);
    let ident = query_ident(handler);
    let text = &method.literal;
    let stream_updates = method.stream_updates;
    quote! {
        static #ident: #p::ViewQuery = #p::ViewQuery::new(#text, #stream_updates);
    }
}

/// The dispatch function of a query method: its arguments become the query's parameters.
fn dispatch_fn(handler: &Handler, method: &QueryMethod) -> TokenStream {
    let _ = method;
    let dispatch = dispatch_ident(handler);
    let extractions = extractions(handler);
    let query = query_ident(handler);
    let p = quote!(#KalixCore::__private);
    let params = handler.params.iter().enumerate().map(|(index, param)| {
        let arg = codegen::arg_ident(index);
        let name = syn::ext::IdentExt::unraw(&param.ident).to_string();
        let add = match param.kind {
            ParamKind::Body => quote!(#p::query_body_params(&mut __kalix_params, &#arg)),
            _ => quote!(#p::query_param(&mut __kalix_params, #name, &#arg)),
        };
        quote! {
            if let ::core::result::Result::Err(error) = #add {
                return #p::HandlerOutcome::error(error);
            }
        }
    });
    let shape = match &handler.reply {
        Reply::Stream(_) => quote!(Stream),
        Reply::Unary(ty) if generic_arg(ty, "Vec").is_some() => quote!(List),
        Reply::Unary(_) => quote!(One),
    };
    crate::codegen::dispatch_fn(
        &dispatch,
        quote! {
            #extractions
            let mut __kalix_params = #p::JsonMap::new();
            #(#params)*
            #p::run_view_query(__kalix_instance, &#query, __kalix_params, #p::ResultShape::#shape).await
        },
    )
}

/// The row type of `table`: the view's `Row` for a view of one table (as its messages name it).
fn row_type(view: &View, table: &Table) -> TokenStream {
    let self_ty = &view.self_ty;
    match view.tables.len() {
        1 => quote!(<#self_ty as #KalixCore::view::ViewComponent>::Row),
        _ => table.row(),
    }
}

/// The apply function of an update method: reads the row and the change, runs the method, and
/// turns its effect into the row's update.
fn apply_fn(view: &View, table: &Table, update: &Update) -> TokenStream {
    let self_ty = &view.self_ty;
    let p = quote!(#KalixCore::__private);
    let ident = &update.ident;
    let apply = update_ident(update);
    let row_ty = row_type(view, table);
    let mut reads = Vec::new();
    let mut args = Vec::new();
    for param in &update.params {
        match param {
            UpdateParam::Row => {
                reads.push(quote!(let __kalix_row: ::core::option::Option<#row_ty> = #p::view_row::<#row_ty>(__kalix_input)?;));
                args.push(quote!(__kalix_row.as_ref()));
            }
            UpdateParam::Context => {
                reads.push(quote!(let __kalix_context = #p::view_context(__kalix_input);));
                args.push(quote!(&__kalix_context));
            }
            UpdateParam::Payload { ty, by_ref } => {
                reads.push(
                    quote!(let __kalix_payload: #ty = #p::view_payload::<#ty>(__kalix_input)?;),
                );
                args.push(if *by_ref {
                    quote!(&__kalix_payload)
                } else {
                    quote!(__kalix_payload)
                });
            }
        }
    }
    let update_span = update.row.span();
    let core = KalixCoreAt(update_span);
    let complete = quote_spanned!(update_span=> #core::__private::view_update::<#row_ty>);
    quote! {
        fn #apply(
            __kalix_instance: &(dyn #p::Any + ::core::marker::Send + ::core::marker::Sync),
            __kalix_input: &#p::ViewUpdateInput<'_>,
        ) -> ::core::result::Result<#p::RowUpdate, ::std::string::String> {
            let __kalix_view = #p::view_downcast::<#self_ty>(__kalix_instance);
            #(#reads)*
            #complete(__kalix_view.#ident(#(#args),*))
        }
    }
}

/// A table's descriptor: its source, its update methods, and every query of the view (each
/// table takes the indexes of the queries that read it).
fn view_descriptor(view: &View, table: &Table) -> TokenStream {
    let self_ty = &view.self_ty;
    let p = quote!(#KalixCore::__private);
    let row_ty = row_type(view, table);
    let source = match &table.source {
        Source::AsIs {
            entity,
            handles_deletes,
        } => {
            let span = entity.span();
            let core = KalixCoreAt(span);
            quote_spanned!(span=> #core::__private::view_value_entity_as_is::<#entity, _>(#handles_deletes))
        }
        Source::ValueEntity { entity } => {
            let span = entity.span();
            let core = KalixCoreAt(span);
            quote_spanned!(span=> #core::__private::view_value_entity::<#entity>())
        }
        Source::EventSourced { entity } => {
            let span = entity.span();
            let core = KalixCoreAt(span);
            quote_spanned!(span=> #core::__private::view_event_sourced::<#entity>())
        }
        Source::Topic {
            topic,
            service,
            consumer_group,
        } => {
            let some = |value: &Option<syn::LitStr>| match value {
                Some(value) => quote!(::core::option::Option::Some(#value)),
                None => quote!(::core::option::Option::None),
            };
            let (service, group) = (some(service), some(consumer_group));
            quote!(#p::view_topic(#topic, #service, #group))
        }
    };
    let topic_source = matches!(table.source, Source::Topic { .. });
    let updates = table.updates.iter().map(|update| {
        let name = update.ident.to_string();
        let deletes = update.deletes;
        let apply = update_ident(update);
        let ignore_unknown = update.ignore_unknown;
        let payload = update.params.iter().find_map(|p| match p {
            UpdateParam::Payload { ty, .. } => Some(ty),
            _ => None,
        });
        let decode = match payload {
            Some(ty) if topic_source => {
                quote!(::core::option::Option::Some(#p::decode_message::<#ty>))
            }
            _ => quote!(::core::option::Option::None),
        };
        quote!(#p::ViewUpdateDescriptor {
            name: #name,
            deletes: #deletes,
            decode: #decode,
            ignore_unknown: #ignore_unknown,
            apply: #apply,
        })
    });
    let queries = view.handlers.iter().map(query_ident);
    let table = &table.name;
    quote! {
        #p::inventory::submit! {
            #p::ViewDescriptor {
                component: <#self_ty as #KalixCore::view::ViewComponent>::COMPONENT_ID,
                table: #table,
                row_type: ::core::any::type_name::<#row_ty>,
                row_shape: #p::shape_of::<#row_ty>,
                source: #source,
                updates: &[#(#updates),*],
                queries: &[#(&#queries),*],
                construct: #p::view_instance::<#self_ty>,
            }
        }
    }
}

/// camelCase JSON names to the Rust fields they come from (`customerId` -> `customer_id`), as
/// `#[serde(rename_all = "camelCase")]` maps them; snake_case names stay as they are.
fn field_ident(name: &str, span: Span) -> Ident {
    // At the query, but marked as generated: rustc then points at the query without offering to
    // replace the whole query string by a field's name.
    let span = Span::mixed_site().located_at(span);
    let mut snake = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    // A column named like a Rust keyword is a raw field (`r#type`); `self` and the like cannot
    // be fields at all, and the compiler says so at the query.
    match syn::parse_str::<Ident>(&snake) {
        Ok(_) => Ident::new(&snake, span),
        Err(_) if !["self", "Self", "super", "crate", "_"].contains(&snake.as_str()) => {
            Ident::new_raw(&snake, span)
        }
        Err(_) => Ident::new(&format!("{snake}_"), span),
    }
}

/// `&__kalix_row.a` or, nested, `&(&__kalix_row.a).kalix_nested().b`.
fn field_access(root: &Ident, path: &[String], span: Span) -> TokenStream {
    let mut tokens = {
        let field = field_ident(&path[0], span);
        quote_spanned!(span=> #root.#field)
    };
    for name in &path[1..] {
        let field = field_ident(name, span);
        tokens = quote_spanned!(span=> (&#tokens).kalix_nested().#field);
    }
    quote_spanned!(span=> &#tokens)
}

fn type_of_literal(operand: &Operand) -> Option<TokenStream> {
    match operand {
        Operand::Text(_) => Some(quote!(::std::string::String)),
        Operand::Integer(_) => Some(quote!(i64)),
        Operand::Float(_) => Some(quote!(f64)),
        Operand::Bool(_) => Some(quote!(bool)),
        Operand::Param(..) | Operand::Column(_) => None,
    }
}

/// The type checks of every query, in a function that is never called.
fn checks(view: &View) -> TokenStream {
    let self_ty = &view.self_ty;
    let mut body = Vec::new();
    for (table, update) in view
        .tables
        .iter()
        .flat_map(|table| table.updates.iter().map(move |u| (table, u)))
    {
        let payload = update.params.iter().find_map(|p| match p {
            UpdateParam::Payload { ty, .. } => Some(ty),
            _ => None,
        });
        if let Some(ty) = payload {
            let span = ty.span();
            let core = KalixCoreAt(span);
            match &table.source {
                Source::ValueEntity { entity } => body.push(
                    quote_spanned!(span=> #core::__private::assert_view_state::<#entity, #ty>();),
                ),
                Source::EventSourced { entity } => body.push(
                    quote_spanned!(span=> #core::__private::assert_view_event::<#entity, #ty>();),
                ),
                Source::AsIs { .. } | Source::Topic { .. } => {}
            }
        }
    }
    for (handler, method) in view.handlers.iter().zip(&view.queries) {
        body.push(query_checks(view, handler, method));
    }
    let p = quote!(#KalixCore::__private);
    quote! {
        #[allow(dead_code, unused_variables, clippy::all)]
        fn __kalix_query_checks() {
            #[allow(unused_imports)]
            use #p::{ViaList as _, ViaOption as _, ViaPlain as _};
            let _ = ::core::marker::PhantomData::<#self_ty>;
            #(#body)*
        }
    }
}

fn query_checks(view: &View, handler: &Handler, method: &QueryMethod) -> TokenStream {
    let span = method.literal.span();
    let core = KalixCoreAt(span);
    let p = quote_spanned!(span=> #core::__private);
    let self_ty = &view.self_ty;
    let query = &method.query;
    // The row type a column is read from: the view's `Row` for a view of one table, else its
    // table's (`None` for a table the view lacks, which the model reported).
    let view_row = quote_spanned!(span=> <#self_ty as #core::view::ViewComponent>::Row);
    // What `SELECT *` of one table gives: its row (in a view of several, the table's own).
    let table_row = match (&view.tables[..], view.table(&query.table)) {
        ([_], _) | (_, None) => view_row.clone(),
        (_, Some(table)) => {
            let row = table.row();
            quote_spanned!(span=> #row)
        }
    };
    let row_of = |column: &Column| -> Option<TokenStream> {
        if view.tables.len() == 1 {
            return Some(view_row.clone());
        }
        view.table(query.table_of(column)).map(|table| {
            let row = table.row();
            quote_spanned!(span=> #row)
        })
    };
    let r = Ident::new("__kalix_row", span);
    let mut checks = Vec::new();
    for column in query.columns() {
        let Some(row) = row_of(column) else { continue };
        let access = field_access(&r, &column.path, span);
        checks.push(quote_spanned!(span=> #p::check_column::<#row, _, _>(|#r: &#row| #access);));
    }
    // Literals compared with columns, and columns with columns (`ON a.x = b.y`).
    let mut literals = Vec::new();
    let mut pairs = Vec::new();
    for expr in query.joins.iter().map(|join| &join.on).chain(&query.filter) {
        literal_uses(expr, &mut literals);
        column_pairs(expr, &mut pairs);
    }
    for (column, ty) in literals {
        let Some(row) = row_of(column) else { continue };
        let access = field_access(&r, &column.path, span);
        checks.push(
            quote_spanned!(span=> #p::check_compare::<#row, #ty, _, _>(|#r: &#row| #access);),
        );
    }
    let o = Ident::new("__kalix_other", span);
    for (left, right) in pairs {
        let (Some(left_row), Some(right_row)) = (row_of(left), row_of(right)) else {
            continue;
        };
        let (a, b) = (
            field_access(&r, &left.path, span),
            field_access(&o, &right.path, span),
        );
        checks.push(quote_spanned!(span=>
            #p::check_compare_columns::<#left_row, #right_row, _, _, _, _>(|#r: &#left_row| #a, |#o: &#right_row| #b);
        ));
    }
    let body = handler
        .params
        .iter()
        .find(|p| matches!(p.kind, ParamKind::Body));
    for (name, _, usage) in query.params() {
        let argument = handler.params.iter().find(|p| {
            !matches!(p.kind, ParamKind::Body)
                && syn::ext::IdentExt::unraw(&p.ident) == name.as_str()
        });
        let column = match &usage {
            ParamUse::Compare(column) | ParamUse::AnyOf(column) | ParamUse::InColumn(column) => {
                column
            }
            ParamUse::Count | ParamUse::PageToken => continue,
        };
        let Some(row) = row_of(column) else { continue };
        let access = field_access(&r, &column.path, span);
        match argument {
            Some(argument) => {
                let ty = match &argument.kind {
                    ParamKind::Query(QueryShape::Optional(inner)) => inner.as_ref().clone(),
                    _ => argument.ty.clone(),
                };
                let check = match usage {
                    ParamUse::AnyOf(_) => quote_spanned!(span=> check_any_of),
                    ParamUse::InColumn(_) => quote_spanned!(span=> check_in_column),
                    _ => quote_spanned!(span=> check_compare),
                };
                checks.push(
                    quote_spanned!(span=> #p::#check::<#row, #ty, _, _>(|#r: &#row| #access);),
                );
            }
            None => {
                if let Some(body) = body
                    && matches!(usage, ParamUse::Compare(_))
                {
                    let body_ty = &body.ty;
                    let b = Ident::new("__kalix_body", span);
                    let field = field_access(&b, std::slice::from_ref(&name), span);
                    checks.push(quote_spanned!(span=>
                        #p::check_compare_body::<#row, #body_ty, _, _, _, _>(|#r: &#row| #access, |#b: &#body_ty| #field);
                    ));
                }
            }
        }
    }
    // What the method returns fits what the query selects.
    let reply = handler.reply.ty();
    let element: Type = match &handler.reply {
        Reply::Stream(row) => row.clone(),
        Reply::Unary(ty) => generic_arg(ty, "Vec")
            .cloned()
            .unwrap_or_else(|| ty.clone()),
    };
    let w = Ident::new("__kalix_result", span);
    if let Some((field, _)) = query.wrapper() {
        let field = field_access(&w, &[field.to_owned()], span);
        // A join's rows are its tables' merged, of no one type: the field is a list.
        let rows = if query.is_join() {
            quote_spanned!(span=> _)
        } else {
            table_row.clone()
        };
        checks.push(
            quote_spanned!(span=> #p::check_wrapper::<#reply, #rows, _>(|#w: &#reply| #field);),
        );
        for item in &query.select {
            let (name, ty) = match item {
                SelectItem::NextPageToken(name) => (name, quote!(::std::string::String)),
                SelectItem::HasMore(name) => (name, quote!(bool)),
                SelectItem::TotalCount(name) => {
                    let field = field_access(&w, std::slice::from_ref(name), span);
                    checks.push(quote_spanned!(span=> #p::check_column::<#reply, _, _>(|#w: &#reply| #field);));
                    continue;
                }
                _ => continue,
            };
            let field = field_access(&w, std::slice::from_ref(name), span);
            checks.push(quote_spanned!(span=> #p::check_wrapper_field::<#reply, #ty, _>(|#w: &#reply| #field);));
        }
    } else if query.select.iter().any(|i| matches!(i, SelectItem::Star)) {
        if !query.is_join() {
            checks.push(quote_spanned!(span=> #p::check_selects::<#element, #table_row>();));
        }
    } else {
        let context = ProjectionChecks {
            element: &element,
            result: &w,
            row: &r,
            span,
            p: &p,
            row_of: &row_of,
        };
        context.items(&query.select, &[], &mut checks);
    }
    quote!(#(#checks)*)
}

/// A step from a query result to a field it fills: a field, or the item of a list.
#[derive(Clone)]
enum Step {
    Field(String),
    Item,
}

/// `&result.a`, `&(&result.a).kalix_nested().b`, `(&result.list).kalix_item()`: a reference to
/// what `steps` reach (`kalix_nested` reaches through an `Option`, `kalix_item` into a `Vec`).
fn result_access(root: &Ident, steps: &[Step], span: Span) -> TokenStream {
    let mut tokens = quote_spanned!(span=> #root);
    let mut first = true;
    for step in steps {
        tokens = match step {
            Step::Field(name) if first => {
                let field = field_ident(name, span);
                quote_spanned!(span=> &#tokens.#field)
            }
            Step::Field(name) => {
                let field = field_ident(name, span);
                quote_spanned!(span=> &(#tokens).kalix_nested().#field)
            }
            Step::Item => quote_spanned!(span=> (#tokens).kalix_item()),
        };
        first = false;
    }
    tokens
}

/// The checks of a projection's items against the fields of the result type they fill.
struct ProjectionChecks<'a> {
    element: &'a Type,
    result: &'a Ident,
    row: &'a Ident,
    span: Span,
    p: &'a TokenStream,
    row_of: &'a dyn Fn(&Column) -> Option<TokenStream>,
}

impl ProjectionChecks<'_> {
    fn items(&self, items: &[SelectItem], at: &[Step], checks: &mut Vec<TokenStream>) {
        let (span, p, element, w) = (self.span, self.p, self.element, self.result);
        let with = |step: Step| {
            let mut steps = at.to_vec();
            steps.push(step);
            steps
        };
        for item in items {
            match item {
                SelectItem::Column { column, alias } => {
                    self.column(column, &with(Step::Field(alias.clone())), checks)
                }
                SelectItem::Nested { items, alias } => {
                    let steps = with(Step::Field(alias.clone()));
                    let field = result_access(w, &steps, span);
                    checks.push(quote_spanned!(span=> #p::check_column::<#element, _, _>(|#w: &#element| #field);));
                    self.items(items, &steps, checks);
                }
                SelectItem::Collect { items, alias, .. } => {
                    let list = with(Step::Field(alias.clone()));
                    let field = result_access(w, &list, span);
                    checks.push(quote_spanned!(span=> #p::check_list::<#element, _, _>(|#w: &#element| #field);));
                    let mut item = list;
                    item.push(Step::Item);
                    match &items[..] {
                        [SelectItem::TableStar(..)] => {}
                        [SelectItem::Column { column, .. }] => self.column(column, &item, checks),
                        _ => self.items(items, &item, checks),
                    }
                }
                _ => {}
            }
        }
    }

    /// A column written at `steps`: of the column's type where it is a field of its row.
    fn column(&self, column: &Column, steps: &[Step], checks: &mut Vec<TokenStream>) {
        let (span, p, element, w, r) = (self.span, self.p, self.element, self.result, self.row);
        let field = result_access(w, steps, span);
        match (column.path.len(), (self.row_of)(column)) {
            (1, Some(row)) => {
                let col = field_access(r, &column.path, span);
                checks.push(quote_spanned!(span=>
                    #p::check_projection::<#element, #row, _, _, _>(|#w: &#element| #field, |#r: &#row| #col);
                ));
            }
            _ => checks.push(
                quote_spanned!(span=> #p::check_column::<#element, _, _>(|#w: &#element| #field);),
            ),
        }
    }
}

/// The columns an expression compares with each other (`a.x = b.y`).
fn column_pairs<'a>(expr: &'a Expr, found: &mut Vec<(&'a Column, &'a Column)>) {
    match expr {
        Expr::Compare {
            column,
            value: Operand::Column(other),
            ..
        } => found.push((column, other)),
        Expr::And(a, b) | Expr::Or(a, b) => {
            column_pairs(a, found);
            column_pairs(b, found);
        }
        Expr::Not(a) => column_pairs(a, found),
        _ => {}
    }
}

fn literal_uses<'a>(expr: &'a Expr, found: &mut Vec<(&'a Column, TokenStream)>) {
    match expr {
        Expr::Compare { column, value, .. } => {
            if let Some(ty) = type_of_literal(value) {
                found.push((column, ty));
            }
        }
        Expr::In { column, values } => {
            for value in values {
                if let Some(ty) = type_of_literal(value) {
                    found.push((column, ty));
                }
            }
        }
        Expr::Like { column, .. } => found.push((column, quote!(::std::string::String))),
        Expr::And(a, b) | Expr::Or(a, b) => {
            literal_uses(a, found);
            literal_uses(b, found);
        }
        Expr::Not(a) => literal_uses(a, found),
        Expr::AnyOfParam { .. } | Expr::ParamInColumn { .. } | Expr::IsNull { .. } => {}
    }
}
