-- The fingerprint of the last load of the files source (bar and tick files, their sizes and
-- modification times, the reading options): the same files, unchanged, are not loaded again.
create table if not exists raw.file_loads (
    fingerprint varchar not null,
    loaded_at timestamp not null
);
