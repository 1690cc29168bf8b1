//! TaskFlow web app: server-rendered pages (askama) that call the backend on the server side.
//! The browser only ever talks to this service. Start reading at [`startup`] and [`pages`].

pub mod assets;
pub mod backend;
pub mod cli;
pub mod config;
pub mod csrf;
pub mod error;
pub mod pages;
pub mod session;
pub mod startup;
pub mod state;
pub mod views;
