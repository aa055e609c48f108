//! The `mltrack` command, in layers that only look down:
//!
//! - `cli`: the clap argument types, nothing else;
//! - `settings`: each command's flags combined with the environment, resolved once;
//! - `commands`: one module per subcommand, run from its settings;
//! - this module: parse, resolve, run, and turn the outcome into an [`ExitStatus`].
//!
//! `exit`, `fs`, `telemetry` and `tracked_run` are helpers any layer may use.

pub mod cli;
mod commands;
pub mod exit;
mod fs;
pub mod settings;
mod telemetry;
pub mod tracked_run;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command, ModelCommand, ServerCommand};
use exit::{ExitStatus, UsageError};
use settings::Environment;
use std::process::ExitCode;

/// Parses the command line, runs the command, and maps the outcome to an exit status (see
/// `mltrack --help`).
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `--help` and `--version` come this way too, on stdout and with success.
            let _ = e.print();
            return if e.use_stderr() {
                ExitStatus::Usage
            } else {
                ExitStatus::Success
            }
            .into();
        }
    };
    let env = Environment::from_process();
    telemetry::init(&env.log());
    match run(cli.command, &env) {
        Ok(status) => status.into(),
        Err(e) => report(&e).into(),
    }
}

fn run(command: Command, env: &Environment) -> anyhow::Result<ExitStatus> {
    match command {
        Command::Server(mut args) => match args.command.take() {
            Some(ServerCommand::User(user)) => {
                commands::user::run(settings::UserSettings::resolve(user, env)?)
            }
            None => commands::server::run(settings::server_config(args, env)?),
        }
        .map(|()| ExitStatus::Success),
        Command::Train(args) => commands::train::run(&settings::TrainSettings::resolve(args, env)?)
            .map(|()| ExitStatus::Success),
        Command::Score(args) => commands::score::run(&settings::ScoreSettings::resolve(args, env)?)
            .map(|()| ExitStatus::Success),
        Command::Gc(args) => {
            commands::gc::run(settings::GcSettings::resolve(args)?).map(|()| ExitStatus::Success)
        }
        Command::Monitor(args) => {
            commands::monitor::run(&settings::MonitorSettings::resolve(*args, env)?)
        }
        Command::Model(args) => match args.command {
            ModelCommand::ImportSpark(a) => {
                commands::import_spark::run(&settings::ImportSparkSettings::resolve(a, env)?)
                    .map(|()| ExitStatus::Success)
            }
        },
        Command::Import(args) => commands::import::run(&settings::ImportSettings::resolve(args)?)
            .map(|()| ExitStatus::Success),
        Command::Drift(args) => commands::drift::run(settings::DriftSettings::resolve(*args, env)?),
    }
}

/// Prints `e` and says how the process ends: a [`UsageError`] as clap prints its own errors (with
/// the subcommand's usage line), anything else as one `error:` line.
fn report(e: &anyhow::Error) -> ExitStatus {
    if let Some(usage) = e.downcast_ref::<UsageError>() {
        let mut cli = Cli::command();
        cli.build();
        let mut command = &mut cli;
        for name in usage.command {
            if command.find_subcommand(name).is_none() {
                break;
            }
            command = command.find_subcommand_mut(name).expect("found just above");
        }
        let _ = command
            .error(clap::error::ErrorKind::ValueValidation, &usage.message)
            .print();
        return ExitStatus::Usage;
    }
    eprintln!("error: {e:#}");
    ExitStatus::Failure
}
