-- A database made by Jobdeck 0.1.0 (before schema migrations): two jobs, one cancelled.
-- Made with that version's engine functions and sqlite3's iterdump; see test_migrations.py.
BEGIN TRANSACTION;
CREATE TABLE artifact (
	id INTEGER NOT NULL, 
	job_id INTEGER NOT NULL, 
	step_run_id INTEGER, 
	kind VARCHAR(10) NOT NULL, 
	name VARCHAR NOT NULL, 
	path VARCHAR NOT NULL, 
	size INTEGER NOT NULL, 
	media_type VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(job_id) REFERENCES job (id), 
	FOREIGN KEY(step_run_id) REFERENCES steprun (id)
);
CREATE TABLE auditevent (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	actor VARCHAR NOT NULL, 
	action VARCHAR NOT NULL, 
	job_id INTEGER, 
	comment VARCHAR, 
	status_before VARCHAR, 
	status_after VARCHAR, 
	PRIMARY KEY (id), 
	FOREIGN KEY(job_id) REFERENCES job (id)
);
INSERT INTO "auditevent" VALUES(1,'2026-11-29 04:49:27.885770','bob','cancel',2,NULL,'queued','cancelled');
CREATE TABLE job (
	id INTEGER NOT NULL, 
	runbook_id INTEGER NOT NULL, 
	runbook_name VARCHAR NOT NULL, 
	runbook_title VARCHAR NOT NULL, 
	runbook_version INTEGER NOT NULL, 
	source VARCHAR NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	"trigger" VARCHAR(8) NOT NULL, 
	started_by VARCHAR, 
	params JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	scheduled_for DATETIME, 
	queued_at DATETIME, 
	started_at DATETIME, 
	finished_at DATETIME, 
	step_count INTEGER NOT NULL, 
	steps_done INTEGER NOT NULL, 
	current_step VARCHAR, 
	error_kind VARCHAR, 
	error_message VARCHAR, 
	requested_action VARCHAR, 
	requested_by VARCHAR, 
	rerun_of INTEGER, 
	schedule_id INTEGER, 
	worker_id VARCHAR, 
	lease_expires_at DATETIME, 
	duration_ms INTEGER, 
	steps_succeeded INTEGER NOT NULL, 
	steps_failed INTEGER NOT NULL, 
	steps_skipped INTEGER NOT NULL, 
	retry_count INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(runbook_id) REFERENCES runbook (id), 
	FOREIGN KEY(rerun_of) REFERENCES job (id), 
	FOREIGN KEY(schedule_id) REFERENCES schedule (id)
);
INSERT INTO "job" VALUES(1,1,'kept','Made by Jobdeck 0.1.0',1,'
version: 1
name: kept
title: Made by Jobdeck 0.1.0
steps:
  - {name: open, action: goto, url: "https://example.com/"}
','queued','manual','ada','{}','2026-11-29 04:49:27.864167',NULL,'2026-11-29 04:49:27.864167',NULL,NULL,1,0,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,0,0,0,0);
INSERT INTO "job" VALUES(2,1,'kept','Made by Jobdeck 0.1.0',1,'
version: 1
name: kept
title: Made by Jobdeck 0.1.0
steps:
  - {name: open, action: goto, url: "https://example.com/"}
','cancelled','manual',NULL,'{}','2026-11-29 04:49:27.872668',NULL,'2026-11-29 04:49:27.872668',NULL,'2026-11-29 04:49:27.879624',1,0,NULL,'cancelled','cancelled by bob before it started',NULL,NULL,NULL,NULL,NULL,NULL,NULL,0,0,0,0);
CREATE TABLE job_status_count (status TEXT PRIMARY KEY, n INTEGER NOT NULL);
INSERT INTO "job_status_count" VALUES('queued',1);
INSERT INTO "job_status_count" VALUES('cancelled',1);
CREATE TABLE jobevent (
	id INTEGER NOT NULL, 
	job_id INTEGER NOT NULL, 
	kind VARCHAR NOT NULL, 
	data JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(job_id) REFERENCES job (id)
);
INSERT INTO "jobevent" VALUES(1,1,'job_status','{"status": "queued"}','2026-11-29 04:49:27.868926');
INSERT INTO "jobevent" VALUES(2,2,'job_status','{"status": "queued"}','2026-11-29 04:49:27.874005');
INSERT INTO "jobevent" VALUES(3,2,'job_status','{"status": "cancelled"}','2026-11-29 04:49:27.884845');
INSERT INTO "jobevent" VALUES(4,2,'job_finished','{"job_id": 2, "id": 2, "runbook": "kept", "runbook_title": "Made by Jobdeck 0.1.0", "runbook_version": 1, "status": "cancelled", "trigger": "manual", "started_by": null, "created_at": "2026-11-29T04:49:27.872668+00:00", "started_at": null, "finished_at": "2026-11-29T04:49:27.879624+00:00", "step_count": 1, "steps_done": 0, "current_step": null, "error": {"kind": "cancelled", "message": "cancelled by bob before it started"}, "metrics": {"duration_ms": null, "steps_succeeded": 0, "steps_failed": 0, "steps_skipped": 0, "retry_count": 0}, "params": {}, "steps": [], "artifacts": []}','2026-11-29 04:49:27.899457');
CREATE TABLE runbook (
	id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	title VARCHAR NOT NULL, 
	source VARCHAR NOT NULL, 
	summary JSON NOT NULL, 
	version INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "runbook" VALUES(1,'kept','Made by Jobdeck 0.1.0','
version: 1
name: kept
title: Made by Jobdeck 0.1.0
steps:
  - {name: open, action: goto, url: "https://example.com/"}
','{"title": "Made by Jobdeck 0.1.0", "description": "", "steps": [{"name": "open", "action": "goto"}], "params": {}, "secrets": []}',1,'2026-11-29 04:49:27.856754','2026-11-29 04:49:27.856782');
CREATE TABLE schedule (
	id INTEGER NOT NULL, 
	runbook_name VARCHAR NOT NULL, 
	params JSON NOT NULL, 
	cron VARCHAR, 
	interval_s INTEGER, 
	at DATETIME, 
	timezone VARCHAR NOT NULL, 
	enabled BOOLEAN NOT NULL, 
	misfire_grace_s INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	last_fired_at DATETIME, 
	misses JSON NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE schedulerlock (
	id INTEGER NOT NULL, 
	holder VARCHAR NOT NULL, 
	expires_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE steprun (
	id INTEGER NOT NULL, 
	job_id INTEGER NOT NULL, 
	ordinal INTEGER NOT NULL, 
	parent_id INTEGER, 
	iteration INTEGER, 
	name VARCHAR NOT NULL, 
	action VARCHAR NOT NULL, 
	description VARCHAR, 
	status VARCHAR(7) NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, 
	duration_ms INTEGER, 
	retries INTEGER NOT NULL, 
	selector_used VARCHAR, 
	captures JSON NOT NULL, 
	error_kind VARCHAR, 
	error_message VARCHAR, 
	diagnostics JSON NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(job_id) REFERENCES job (id), 
	FOREIGN KEY(parent_id) REFERENCES steprun (id)
);
CREATE UNIQUE INDEX ix_runbook_name ON runbook (name);
CREATE INDEX ix_schedule_runbook_name ON schedule (runbook_name);
CREATE INDEX ix_job_rerun_of ON job (rerun_of);
CREATE INDEX ix_job_status_created ON job (status, created_at);
CREATE UNIQUE INDEX ux_job_schedule_occurrence ON job (schedule_id, scheduled_for);
CREATE INDEX ix_job_lease_expires_at ON job (lease_expires_at);
CREATE INDEX ix_job_created ON job (created_at);
CREATE INDEX ix_job_runbook_id ON job (runbook_id);
CREATE INDEX ix_auditevent_job_id ON auditevent (job_id);
CREATE INDEX ix_jobevent_job_id_id ON jobevent (job_id, id);
CREATE INDEX ix_steprun_job_id ON steprun (job_id);
CREATE INDEX ix_artifact_job_id ON artifact (job_id);
CREATE TRIGGER job_count_insert AFTER INSERT ON job BEGIN INSERT INTO job_status_count (status, n) VALUES (NEW.status, 1) ON CONFLICT (status) DO UPDATE SET n = n + 1; END;
CREATE TRIGGER job_count_update AFTER UPDATE OF status ON job WHEN OLD.status IS NOT NEW.status BEGIN UPDATE job_status_count SET n = n - 1 WHERE status = OLD.status; INSERT INTO job_status_count (status, n) VALUES (NEW.status, 1) ON CONFLICT (status) DO UPDATE SET n = n + 1; END;
CREATE TRIGGER job_count_delete AFTER DELETE ON job BEGIN UPDATE job_status_count SET n = n - 1 WHERE status = OLD.status; END;
COMMIT;
