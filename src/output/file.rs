//! Where results go: standard output, or `-o FILE` written to a temporary
//! file beside FILE and renamed over it only when the run succeeded, so an
//! interrupted or failed run never leaves a half-written export behind.

use std::fs::File;
use std::io::{self, BufWriter, Stdout, Write};
use std::path::{Path, PathBuf};

pub enum Output {
    Stdout(BufWriter<Stdout>),
    File {
        writer: BufWriter<File>,
        temp: PathBuf,
        dest: PathBuf,
        committed: bool,
    },
}

impl Output {
    pub fn create(path: Option<&str>) -> io::Result<Output> {
        let Some(path) = path.filter(|p| *p != "-") else {
            return Ok(Output::Stdout(BufWriter::with_capacity(
                1 << 16,
                io::stdout(),
            )));
        };
        let dest = PathBuf::from(path);
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let dir = dest
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let temp = dir.join(format!(".{name}.rstscope-{}.tmp", std::process::id()));
        let file = File::create(&temp)?;
        Ok(Output::File {
            writer: BufWriter::with_capacity(1 << 16, file),
            temp,
            dest,
            committed: false,
        })
    }

    /// The temporary file being written, for a file output.
    pub fn temp_path(&self) -> Option<&Path> {
        match self {
            Output::Stdout(_) => None,
            Output::File { temp, .. } => Some(temp),
        }
    }

    /// Where a file output goes (FILE of `-o FILE`).
    pub fn dest_path(&self) -> Option<&Path> {
        match self {
            Output::Stdout(_) => None,
            Output::File { dest, .. } => Some(dest),
        }
    }

    /// Flushes everything and, for a file, moves it into place.
    pub fn commit(mut self) -> io::Result<()> {
        match &mut self {
            Output::Stdout(w) => w.flush(),
            Output::File {
                writer,
                temp,
                dest,
                committed,
            } => {
                writer.flush()?;
                writer.get_ref().sync_all()?;
                std::fs::rename(&*temp, &*dest)?;
                *committed = true;
                Ok(())
            }
        }
    }
}

/// A file's write error names the file (FILE of `-o FILE`): "No space
/// left on device" alone does not say where.
fn named(dest: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", dest.display()))
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(w) => w.write(buf),
            Output::File { writer, dest, .. } => writer.write(buf).map_err(|e| named(dest, e)),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.write_all(buf),
            Output::File { writer, dest, .. } => writer.write_all(buf).map_err(|e| named(dest, e)),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.flush(),
            Output::File { writer, dest, .. } => writer.flush().map_err(|e| named(dest, e)),
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Output::File {
            temp, committed, ..
        } = self
        {
            if !*committed {
                let _ = std::fs::remove_file(&*temp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_appears_only_on_commit() {
        let dir = std::env::temp_dir().join(format!("rstscope-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dest = dir.join("flows.csv");
        let mut out = Output::create(Some(dest.to_str().unwrap())).unwrap();
        out.write_all(b"a,b\n").unwrap();
        assert!(!dest.exists(), "nothing at FILE before the run succeeded");
        out.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"a,b\n");

        let failed = dir.join("failed.csv");
        let mut out = Output::create(Some(failed.to_str().unwrap())).unwrap();
        out.write_all(b"partial").unwrap();
        drop(out);
        assert!(!failed.exists());
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temporary file removed");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
