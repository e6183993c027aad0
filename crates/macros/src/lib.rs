//! Portico's attribute macros, so that what a port or a contract rule is
//! written once, where it is defined:
//!
//! - [`macro@port`] makes a repository trait of `domain` a port: every
//!   call of it can go through a call layer (timing, deadlines, breakers),
//!   with no forwarding written by hand.
//! - [`macro@contract`] registers an `async fn(Stores)` as a rule of the
//!   contract suite, which every adapter runs.

use proc_macro::TokenStream;
use quote::quote;
use syn::{FnArg, ItemFn, ItemTrait, LitStr, Pat, TraitItem, parse_macro_input};

/// Makes a repository trait of `domain` a port named `"name"` (the label
/// of its calls in metrics): `#[port("users")]`, written above the trait's
/// other attributes (`automock`, `async_trait`), which it leaves as they
/// are. It adds
///
/// - `impl Trait for Layered<dyn Trait, L>`: every method, default ones
///   included, forwards to the inner port through `L`'s
///   `CallLayer::call(port, operation, call)`;
/// - `impl Port for dyn Trait`, which `Stores::layered` uses to wrap it.
///
/// Every method must be an `async fn(&self, …)` returning a `Result` whose
/// error carries a `StoreError` (`PortResult`).
#[proc_macro_attribute]
pub fn port(attr: TokenStream, item: TokenStream) -> TokenStream {
    let name = parse_macro_input!(attr as LitStr);
    let port = parse_macro_input!(item as ItemTrait);
    match layer_of(&name, &port) {
        Ok(layer) => quote! { #port #layer }.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// The layered impl and the `Port` impl of `port`.
fn layer_of(name: &LitStr, port: &ItemTrait) -> syn::Result<proc_macro2::TokenStream> {
    let trait_name = &port.ident;
    let mut methods = Vec::new();
    for item in &port.items {
        let TraitItem::Fn(method) = item else {
            continue;
        };
        let sig = &method.sig;
        if sig.asyncness.is_none() {
            return Err(syn::Error::new_spanned(
                sig,
                "a port's methods are `async fn`s (the layer awaits them)",
            ));
        }
        let mut args = Vec::new();
        for input in &sig.inputs {
            match input {
                FnArg::Receiver(_) => {}
                FnArg::Typed(typed) => match &*typed.pat {
                    Pat::Ident(ident) => args.push(ident.ident.clone()),
                    other => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "a port's arguments are plain names",
                        ));
                    }
                },
            }
        }
        let operation = sig.ident.to_string();
        let method_name = &sig.ident;
        let attrs = method.attrs.iter().filter(|a| !a.path().is_ident("doc"));
        methods.push(quote! {
            #(#attrs)*
            #sig {
                self.layer
                    .call(#name, #operation, self.inner.#method_name(#(#args),*))
                    .await
            }
        });
    }
    Ok(quote! {
        #[::async_trait::async_trait]
        impl<L: crate::CallLayer> #trait_name for crate::Layered<dyn #trait_name, L> {
            #(#methods)*
        }

        impl crate::Port for dyn #trait_name {
            const NAME: &'static str = #name;

            fn layered<L: crate::CallLayer>(
                inner: ::std::sync::Arc<Self>,
                layer: L,
            ) -> ::std::sync::Arc<Self> {
                ::std::sync::Arc::new(crate::Layered::new(inner, layer))
            }
        }
    })
}

/// Registers `async fn name(stores: Stores)` as a rule of the contract
/// suite: `contract_tests::run_suite` runs every registered rule, each on a
/// fresh store, named after its module and function
/// (`users::email_taken_case_insensitively`).
#[proc_macro_attribute]
pub fn contract(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(
            proc_macro2::TokenStream::from(attr)
                .into_iter()
                .next()
                .map_or_else(proc_macro2::Span::call_site, |t| t.span()),
            "#[contract] takes no arguments",
        )
        .to_compile_error()
        .into();
    }
    let function = parse_macro_input!(item as ItemFn);
    if function.sig.asyncness.is_none() || function.sig.inputs.len() != 1 {
        return syn::Error::new_spanned(
            &function.sig,
            "a contract rule is an `async fn(stores: Stores)`",
        )
        .to_compile_error()
        .into();
    }
    let name = &function.sig.ident;
    quote! {
        #function
        ::contract_tests::inventory::submit! {
            ::contract_tests::Rule::new(
                ::core::module_path!(),
                ::core::stringify!(#name),
                |stores| ::std::boxed::Box::pin(#name(stores)),
            )
        }
    }
    .into()
}
