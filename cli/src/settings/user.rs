//! `mltrack server user`'s settings.

use super::environment::Environment;
use crate::cli::{UserAddArgs, UserCommand, UserRemoveArgs};

#[derive(Debug)]
pub enum UserSettings {
    Add(UserAdd),
    Remove(UserRemove),
}

#[derive(Debug)]
pub struct UserAdd {
    pub name: String,
    pub password: Option<Password>,
    /// Generate an API token.
    pub token: bool,
    pub read_only: bool,
    pub backend_store_uri: String,
}

/// Where the password comes from; never the command line, where `ps` and shell history would show
/// it.
pub enum Password {
    /// The first line of standard input, read when the command runs.
    Stdin,
    /// The value of the variable `--password-env` named.
    Given(String),
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Password::Stdin => "Stdin",
            Password::Given(_) => "Given(…)",
        })
    }
}

#[derive(Debug)]
pub struct UserRemove {
    pub name: String,
    pub backend_store_uri: String,
}

impl UserSettings {
    pub fn resolve(command: UserCommand, env: &Environment) -> anyhow::Result<Self> {
        Ok(match command {
            UserCommand::Add(args) => UserSettings::Add(add(args, env)?),
            UserCommand::Remove(UserRemoveArgs {
                name,
                backend_store_uri,
            }) => UserSettings::Remove(UserRemove {
                name,
                backend_store_uri,
            }),
        })
    }
}

fn add(args: UserAddArgs, env: &Environment) -> anyhow::Result<UserAdd> {
    let password = if args.password_stdin {
        Some(Password::Stdin)
    } else if let Some(var) = &args.password_env {
        Some(Password::Given(env.named_var(var)?))
    } else {
        None
    };
    Ok(UserAdd {
        name: args.name,
        password,
        token: args.token,
        read_only: args.read_only,
        backend_store_uri: args.backend_store_uri,
    })
}
