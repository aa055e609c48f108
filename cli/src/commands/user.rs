//! `mltrack server user add|remove`: the users `mltrack server --auth` lets in. Writes straight to
//! the backend store, so it works with the server up or down.

use crate::settings::{Password, UserAdd, UserRemove, UserSettings};
use anyhow::Context;
use std::io::BufRead;
use tracking_server::auth::credentials::{generate_token, hash_secret};
use tracking_server::startup::redact;
use tracking_server::store::auth::{AuthStore, Permission, TokenRecord, UserRecord};
use tracking_server::store::SqlStore;

pub(crate) fn run(settings: UserSettings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match settings {
            UserSettings::Add(add_user) => add(add_user).await,
            UserSettings::Remove(remove_user) => remove(remove_user).await,
        }
    })
}

async fn open(uri: &str) -> anyhow::Result<SqlStore> {
    SqlStore::connect(uri)
        .await
        .with_context(|| format!("cannot open backend store `{}`", redact(uri)))
}

async fn add(args: UserAdd) -> anyhow::Result<()> {
    let password = read_password(&args)?;
    if password.as_deref().is_some_and(str::is_empty) {
        anyhow::bail!("the password is empty");
    }
    let password_hash = password.as_deref().map(hash_secret).transpose()?;
    let token = if args.token {
        let (token, token_id, secret) = generate_token();
        let record = TokenRecord {
            token_id,
            secret_hash: hash_secret(&secret)?,
        };
        Some((token, record))
    } else {
        None
    };
    let user = UserRecord {
        name: args.name.clone(),
        password_hash,
        permission: if args.read_only {
            Permission::Read
        } else {
            Permission::Edit
        },
    };
    let store = open(&args.backend_store_uri).await?;
    store
        .create_user(&user, token.as_ref().map(|(_, r)| r))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot add user `{}`", args.name))?;
    eprintln!("added user `{}` ({})", args.name, user.permission.as_str());
    if let Some((token, _)) = token {
        eprintln!("token (shown once; set MLFLOW_TRACKING_TOKEN to it):");
        println!("{token}");
    }
    Ok(())
}

async fn remove(args: UserRemove) -> anyhow::Result<()> {
    let store = open(&args.backend_store_uri).await?;
    let removed = store
        .delete_user(&args.name)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !removed {
        anyhow::bail!("no user `{}`", args.name);
    }
    eprintln!("removed user `{}` and their tokens", args.name);
    Ok(())
}

/// The password, reading standard input's first line when that is where it comes from.
fn read_password(args: &UserAdd) -> anyhow::Result<Option<String>> {
    match &args.password {
        Some(Password::Stdin) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the password from stdin")?;
            Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
        }
        Some(Password::Given(p)) => Ok(Some(p.clone())),
        None => Ok(None),
    }
}
