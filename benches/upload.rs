//! Upload throughput of the ordered writer to an S3 server over loopback HTTP with SigV4: an
//! in-process `s3s-fs` server (the same kind the tests use), 4 MiB objects (a 1080p segment is
//! 3-4 MB), with and without the multipart path (12 MiB objects).
//!
//! Run: `cargo bench --bench upload`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use ivs_recorder::storage::{
    Artifact, ArtifactWriter, Bucket, S3Credentials, Store, StoreLocation, WriterPolicy,
};

const ACCESS_KEY: &str = "bench";
const SECRET_KEY: &str = "bench-secret-key";

fn s3_bucket(runtime: &tokio::runtime::Runtime, root: &std::path::Path) -> Bucket {
    std::fs::create_dir_all(root.join("bench")).unwrap();
    let fs = s3s_fs::FileSystem::new(root).unwrap();
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = builder.build();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    runtime.spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let connection = http
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
    });
    Store::new(StoreLocation::S3 {
        endpoint: Some(format!("http://{address}")),
        credentials: Some(S3Credentials {
            access_key_id: ACCESS_KEY.to_owned(),
            secret_access_key: SECRET_KEY.to_owned(),
        }),
        region: Some("us-east-1".to_owned()),
    })
    .bucket("bench")
    .unwrap()
}

fn upload(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let root = tempfile::tempdir().unwrap();
    let bucket = s3_bucket(&runtime, root.path());
    let mut group = c.benchmark_group("upload_to_s3s_fs");
    group.sample_size(10);
    for (label, object_mib, count) in [
        ("4MiB_objects", 4usize, 16usize),
        ("12MiB_multipart", 12, 6),
    ] {
        let payload = bytes::Bytes::from(vec![0x47u8; object_mib * 1024 * 1024]);
        group.throughput(Throughput::Bytes((object_mib * 1024 * 1024 * count) as u64));
        group.bench_function(label, |b| {
            b.iter(|| {
                let writer = ArtifactWriter::spawn(
                    bucket.clone(),
                    runtime.handle(),
                    WriterPolicy::default(),
                );
                let sender = writer.sender();
                std::thread::scope(|s| {
                    s.spawn(|| {
                        for n in 0..count {
                            sender
                                .send_blocking(Artifact::segment(
                                    format!("bench/{n}.ts"),
                                    payload.clone(),
                                ))
                                .unwrap();
                        }
                    });
                });
                drop(sender);
                runtime.block_on(writer.finish()).unwrap()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, upload);
criterion_main!(benches);
