//! The `ivs-recorder` binary: parses arguments, runs the library, maps the outcome to an exit code.
//!
//! Exit codes: 0 recorded (or, for `serve`, shut down cleanly); 1 the recording failed or could
//! not be made; 2 invalid arguments, channels or recording configuration (nothing written).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use ivs_recorder::cli::{
    BenchArgs, Cli, Command, FlushSpoolArgs, PublishArgs, RecordArgs, ServeArgs,
};
use std::io::Write;

use ivs_recorder::api;
use ivs_recorder::live::channels::LiveChannel;
use ivs_recorder::live::{self, Listeners};
use ivs_recorder::progress::TerminalProgress;
use ivs_recorder::recording::{
    ProgressCallback, RecordError, RecordOutcome, RecordRequest, RecordingResult, record_file,
};
use ivs_recorder::storage::Store;
use ivs_recorder::time::SystemClock;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` logs one line per session event by default; the batch commands only warnings.
    let default_filter = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("IVS_RECORDER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match cli.command {
        Command::Record(args) => record(&args),
        Command::FlushSpool(args) => flush_spool(&args),
        Command::Serve(args) => serve(&args),
        Command::Publish(args) => publish(&args),
        Command::Bench(args) => bench(&args),
    }
}

fn publish(args: &PublishArgs) -> ExitCode {
    match ivs_recorder::publish::publish(&args.options()) {
        Ok(reports) => {
            for report in &reports {
                eprintln!(
                    "published {:.3} s of media ({} packets) to {}; at worst {} ms behind real time",
                    report.media_seconds, report.packets, report.url, report.max_lag_ms
                );
            }
            if reports.len() == args.count as usize {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(err) => {
            eprintln!("error: {}", ivs_recorder::error::error_chain(&err));
            ExitCode::from(1)
        }
    }
}

fn serve(args: &ServeArgs) -> ExitCode {
    // A long-running server with a keyframe decoder per stream: frame-sized buffers go back to
    // the OS when freed (about 8 MB per BASIC stream instead of 17).
    ivs_recorder::av::malloc::return_large_blocks_to_the_os();
    let (config, credentials) = match args.config().and_then(|c| Ok((c, args.api_credentials()?))) {
        Ok(setup) => setup,
        Err(err) => {
            eprintln!("error: {}", ivs_recorder::error::error_chain(&err));
            return ExitCode::from(2);
        }
    };
    let run = || -> anyhow::Result<()> {
        let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
        runtime.block_on(async {
            let rtmps = args.rtmps();
            let listeners = live::listen(args.rtmp_listen, rtmps.as_ref()).await?;
            let api_listener = api::server::bind(args.api_listen).await?;
            print_ingest_urls(&config.channels, &listeners);
            print_api_url(&api_listener);
            api::server::run(
                config,
                listeners,
                api_listener,
                credentials,
                shutdown_signal(),
            )
            .await
        })?;
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", ivs_recorder::error::error_chain(err.as_ref()));
            ExitCode::from(1)
        }
    }
}

/// Prints where the server listens and every channel's ingest URLs. A closed stdout must not stop
/// the server: write errors are ignored.
fn print_ingest_urls(channels: &[LiveChannel], listeners: &Listeners) {
    let address = |listener: &tokio::net::TcpListener| listener.local_addr().ok();
    let plain = address(&listeners.rtmp);
    let secure = listeners.rtmps.as_ref().and_then(|(l, _)| address(l));
    let mut out = std::io::stdout().lock();
    if let Some(plain) = plain {
        let _ = writeln!(out, "ivs-recorder: RTMP ingest listening on {plain}");
    }
    if let Some(secure) = secure {
        let _ = writeln!(out, "ivs-recorder: RTMPS ingest listening on {secure}");
    }
    let mut channels: Vec<&LiveChannel> = channels.iter().collect();
    channels.sort_by(|a, b| a.channel.name.cmp(&b.channel.name));
    for live in channels {
        let recording = live.recording.as_ref().map_or_else(
            || "not recorded".to_owned(),
            |c| {
                let bucket = c
                    .destination_configuration
                    .s3
                    .as_ref()
                    .map_or("", |s3| s3.bucket_name.as_str());
                format!("records to bucket {bucket}")
            },
        );
        for (scheme, at) in [("rtmp", plain), ("rtmps", secure)] {
            if let Some(at) = at {
                let _ = writeln!(
                    out,
                    "  channel {} ({}, {}, {recording}): {}",
                    live.channel.name,
                    live.channel.arn,
                    live.channel.channel_type,
                    live::ingest_url(scheme, at, &live.stream_key)
                );
            }
        }
    }
    let _ = out.flush();
}

/// Prints where the IVS API listens and how to point the AWS CLI at it.
fn print_api_url(listener: &tokio::net::TcpListener) {
    if let Ok(address) = listener.local_addr() {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "ivs-recorder: IVS API listening on http://{address} (aws --endpoint-url http://{address} ivs …)"
        );
        let _ = out.flush();
    }
}

/// Completes at SIGINT or SIGTERM, logging which came.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let name = match signal(SignalKind::terminate()) {
        Ok(mut terminate) => tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    };
    tracing::info!("{name}: shutting down");
}

fn bench(args: &BenchArgs) -> ExitCode {
    let options = match args.options() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("error: {}", ivs_recorder::error::error_chain(&err));
            return ExitCode::from(2);
        }
    };
    let run = || -> anyhow::Result<()> {
        let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
        let mut say = |line: &str| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        };
        ivs_recorder::bench::run_bench(&options, runtime.handle(), &mut say)?;
        say(&format!(
            "report: {0}/report.json, {0}/report.csv, charts: {0}/quality.svg, {0}/speed.svg",
            options.out.display()
        ));
        Ok(())
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", ivs_recorder::error::error_chain(err.as_ref()));
            ExitCode::from(1)
        }
    }
}

fn record(args: &RecordArgs) -> ExitCode {
    let setup = args
        .channel_and_configuration()
        .and_then(|(channel, configuration)| {
            Ok((channel, configuration, args.encoding.settings()?))
        });
    let (channel, configuration, encoding) = match setup {
        Ok(setup) => setup,
        Err(err) => {
            eprintln!("error: {}", ivs_recorder::error::error_chain(&err));
            return ExitCode::from(2);
        }
    };
    match run_record(args, channel, configuration, encoding) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", ivs_recorder::error::error_chain(err.as_ref()));
            ExitCode::from(1)
        }
    }
}

fn run_record(
    args: &RecordArgs,
    channel: ivs_recorder::model::Channel,
    configuration: ivs_recorder::model::RecordingConfiguration,
    encoding: ivs_recorder::model::EncoderSettings,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let bucket_name = configuration
        .destination_configuration
        .s3
        .as_ref()
        .map(|s3| s3.bucket_name.clone())
        .context("the recording configuration has no S3 destination")?;
    let store = Store::new(args.storage.location());
    let bucket = store.bucket(&bucket_name)?;
    let progress = TerminalProgress::on_terminal().map(|mut display| {
        Box::new(move |done, total| display.update(done, total)) as ProgressCallback
    });
    let request = RecordRequest {
        input: args.input.clone(),
        realtime: args.realtime,
        channel,
        configuration,
        bucket,
        clock: Arc::new(SystemClock),
        progress,
        writer_policy: args.storage.writer_policy(),
        encoding: Arc::new(encoding),
    };
    let outcome = match record_file(request, runtime.handle()) {
        Ok(outcome) => outcome,
        Err(err @ RecordError::Validation(_)) => {
            eprintln!("error: {}", ivs_recorder::error::error_chain(&err));
            return Ok(ExitCode::from(2));
        }
        Err(err) => return Err(err.into()),
    };
    eprintln!("{}", summary(&outcome));
    let code = match &outcome.result {
        RecordingResult::Ended => ExitCode::SUCCESS,
        RecordingResult::Failed(reason) => {
            eprintln!(
                "error: the recording failed and was closed with recording-failed.json: {reason}"
            );
            ExitCode::from(1)
        }
    };
    println!("{}", outcome.location);
    Ok(code)
}

/// One line on what was recorded.
fn summary(outcome: &RecordOutcome) -> String {
    let renditions: Vec<&str> = outcome.renditions.iter().map(|r| r.name.as_str()).collect();
    let mut line = format!(
        "recorded {:.3} s of media: renditions [{}], {} thumbnail(s) at {}x{}",
        outcome.duration_ms as f64 / 1000.0,
        renditions.join(", "),
        outcome.thumbnails,
        outcome.thumbnail_size.0,
        outcome.thumbnail_size.1,
    );
    if outcome.sampler.packets > 0 {
        line.push_str(&format!(
            " (decoded {} of {} video packets for them)",
            outcome.sampler.decoded, outcome.sampler.packets
        ));
    }
    line
}

fn flush_spool(args: &FlushSpoolArgs) -> ExitCode {
    let run = || -> anyhow::Result<(usize, u64)> {
        let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
        let store = Store::new(args.storage.location());
        Ok(runtime.block_on(ivs_recorder::storage::flush_spool(&args.dir, &store))?)
    };
    match run() {
        Ok((objects, bytes)) => {
            eprintln!(
                "uploaded {objects} object(s), {bytes} bytes, from {}",
                args.dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {}", ivs_recorder::error::error_chain(err.as_ref()));
            ExitCode::from(1)
        }
    }
}
