//! Portico's attribute macros, so that what a port or a contract rule is
//! written once, where it is defined:
//!
//! - [`macro@contract`] registers an `async fn(Stores)` as a rule of the
//!   contract suite, which every adapter runs.

use proc_macro::TokenStream;
use quote::quote;
use syn::{ItemFn, parse_macro_input};

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
