//! HTTP tests: the real server on port 0, a real client.

mod accounts;
mod cli;
mod support;
mod web;
