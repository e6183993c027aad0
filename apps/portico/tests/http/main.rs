//! HTTP tests: the real server on port 0, a real client.

mod accounts;
mod activity;
mod cli;
mod content;
mod contract;
mod deploy;
mod devices;
mod faults;
mod hardening;
mod hygiene;
mod instances;
mod mfa;
mod notifications;
mod oauth;
mod outage;
mod pages;
mod payments;
mod plans;
mod races;
mod security;
mod smtp;
mod standing;
mod support;
mod uploads;
mod walkthrough;
mod web;
