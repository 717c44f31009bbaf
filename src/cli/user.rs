//! `palisade user add|passwd|list`: manage local users from the server host (headless use).

use std::io::BufRead;

use anyhow::{bail, Context};

use crate::domain::{validate_password, Role, Username};
use crate::store::audit::{self, Actor};
use crate::store::users;

/// User subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from stdin with --password-stdin, else generated and printed.
    Add {
        username: Username,
        #[arg(long, default_value = "viewer")]
        role: Role,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (ends their sessions).
    Passwd {
        username: Username,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
}

fn read_password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
        let p = line.trim_end_matches(['\n', '\r']).to_string();
        validate_password(&p).map_err(anyhow::Error::msg)?;
        Ok((p, false))
    } else {
        Ok((crate::store::sessions::new_secret().0, true))
    }
}

/// Run a user subcommand.
pub fn run(cmd: &UserCommand) -> anyhow::Result<()> {
    super::with_pool(|pool| async move {
        match cmd {
            UserCommand::Add { username, role, password_stdin } => {
                let (password, generated) = read_password(*password_stdin)?;
                let user = users::create(&pool, username, &password, *role).await?;
                audit::record(
                    &pool,
                    &Actor::cli(),
                    "user.create",
                    Some(&user.username),
                    serde_json::json!({"role": role}),
                )
                .await?;
                println!("created user {} ({})", user.username, user.role);
                if generated {
                    println!("password: {password}");
                }
            }
            UserCommand::Passwd { username, password_stdin } => {
                let Some(user) = users::get_by_name(&pool, username.as_str()).await? else {
                    bail!("no user named `{username}`");
                };
                let (password, generated) = read_password(*password_stdin)?;
                users::update(&pool, user.id, Some(&password), None, None).await?;
                audit::record(
                    &pool,
                    &Actor::cli(),
                    "user.password",
                    Some(&user.username),
                    serde_json::json!({}),
                )
                .await?;
                println!("password of {} changed; their sessions ended", user.username);
                if generated {
                    println!("password: {password}");
                }
            }
            UserCommand::List => {
                println!("{:<32} {:<8} {:<9} created", "username", "role", "disabled");
                for u in users::list(&pool).await? {
                    println!(
                        "{:<32} {:<8} {:<9} {}",
                        u.username,
                        u.role,
                        u.disabled,
                        u.created_at.format("%Y-%m-%d %H:%M")
                    );
                }
            }
        }
        Ok(())
    })
}
