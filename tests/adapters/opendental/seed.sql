-- A small Open Dental practice in Open Dental 24.3's real tables (schema-24.3.0.0.sql), read at
-- Thursday 2026-03-05 11:45 America/New_York. Definitions and preferences are the rows Open
-- Dental itself ships (its names, its categories). Fictional people. Comments name the stall each row plants ("-> rule id") or the awkward
-- case it exercises; tests/adapters/opendental assert on exactly these.

-- TIMESTAMP literals below are New York winter time, whatever the server's zone.
SET time_zone = '-05:00';

-- Preferences Open Dental ships, set as this office has them. AppointmentTimeIncrement: the
-- practice works in 10-minute steps (procedure code time patterns count in those steps).
-- EasyNoClinics 1: clinics are switched off (the clinic rows are left from an earlier setup).
INSERT INTO preference (PrefName, ValueString) VALUES
  ('PracticeTitle', 'Main Street Dental Group'), ('AppointmentTimeIncrement', '10'), ('EasyNoClinics', '1'),
  ('ScheduleProvUnassigned', '1'), ('ApptEConfirmStatusSent', '27'), ('ApptEConfirmStatusAccepted', '28'),
  ('ApptEConfirmStatusDeclined', '29'), ('ApptEConfirmStatusSendFailed', '30'),
  ('AppointmentTimeArrivedTrigger', '26'), ('AppointmentTimeSeatedTrigger', '0'),
  ('AppointmentTimeDismissedTrigger', '0'), ('RecallTypesShowingInList', '1,2,3,4');
INSERT INTO clinic (ClinicNum, Description, Abbr) VALUES (1, 'Main Street Dental', 'MAIN'), (2, 'Hillside Dental', 'HILL');

-- DefCat 2 = ApptConfirmed (27-30: the eConfirmation statuses Open Dental adds itself), 27 = CommLogTypes
INSERT INTO definition (DefNum, Category, ItemOrder, ItemName, ItemValue) VALUES
  (21, 2, 0, 'Not Called', ''), (22, 2, 1, 'Unconfirmed', ''), (23, 2, 2, 'Left Msg', ''),
  (24, 2, 3, 'Confirmed', ''), (25, 2, 4, 'Texted', ''), (26, 2, 5, 'Arrived', ''),
  (27, 2, 6, 'eConfirmSent', 'eConfirmSent'), (28, 2, 7, 'AppointmentConfirmed', 'AppointmentConfirmed'),
  (29, 2, 8, 'eConfirmCallback', 'eConfirmCallback'), (30, 2, 9, 'eConfirmFailure', 'eConfirmFailure'),
  (31, 27, 0, 'Appt Related', 'APPT'), (32, 27, 1, 'Insurance', ''), (33, 27, 2, 'Financial', 'FIN'),
  (34, 27, 3, 'Recall', 'RECALL'), (35, 27, 4, 'Misc', 'MISC'), (36, 27, 5, 'Tx Follow-up', '');

INSERT INTO provider (ProvNum, Abbr, LName, FName, IsSecondary, IsHidden, ProvStatus) VALUES
  (1, 'DOC1', 'Stone', 'Ada', 0, 0, 0),
  (2, 'HYG1', 'Brook', 'Hal', 1, 0, 0),
  (3, 'OLD', 'Gone', 'Otis', 0, 1, 0),      -- hidden: left out
  (4, 'DEL', 'Deleted', 'Dee', 0, 0, 1);    -- ProvStatus Deleted: left out

-- ProvDentist/ProvHygienist: whose provider schedules without scheduleop rows cover the chair.
INSERT INTO operatory (OperatoryNum, OpName, Abbrev, ItemOrder, IsHidden, IsHygiene, ClinicNum, ProvDentist,
                       ProvHygienist) VALUES
  (1, 'Op 1', 'O1', 0, 0, 0, 1, 1, 0), (2, 'Hyg 1', 'H1', 1, 0, 1, 1, 0, 2),
  (3, 'Hillside Op', 'HO', 2, 0, 0, 2, 0, 0),  -- second clinic; no provider: ScheduleProvUnassigned's
  (4, 'Storage', 'ST', 3, 1, 0, 1, 0, 0);      -- hidden: left out

INSERT INTO usergroup (UserGroupNum, Description) VALUES
  (1, 'Doctors'), (2, 'Owner'), (3, 'Hygienists'), (4, 'Front Desk'), (5, 'Office Manager'),
  (6, 'Insurance Billing'), (7, 'Treatment Coordinator');
INSERT INTO userod (UserNum, UserName, ProvNum, IsHidden) VALUES
  (1, 'astone', 1, 0), (2, 'hbrook', 2, 0), (3, 'Bo Reed', 0, 0), (4, 'Cy Moss', 0, 0),
  (5, 'Dee Lane', 0, 0), (6, 'temp', 0, 1), (7, 'Tia Cruz', 0, 0);
INSERT INTO usergroupattach (UserNum, UserGroupNum) VALUES
  (1, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 4), (7, 7);

INSERT INTO recalltype (RecallTypeNum, Description, DefaultInterval, Procedures) VALUES
  (1, 'Prophy', 393217, 'D1110'), (2, 'Child Prophy', 393217, 'D1120,D1208'), (3, 'Perio', 196608, 'D4910'),
  (4, 'Exam', 393217, 'D0120'),
  (5, '4BW', 393216, 'D0274');  -- bitewings: not in RecallTypesShowingInList

-- SchedType 0 practice (Status 2 = holiday), 1 provider (with scheduleop rows), 2 blockout (not read)
INSERT INTO schedule (ScheduleNum, SchedDate, StartTime, StopTime, SchedType, ProvNum, Status, ClinicNum) VALUES
  (1, '2026-03-05', '08:00:00', '12:00:00', 1, 1, 0, 0),
  (2, '2026-03-05', '13:00:00', '17:00:00', 1, 1, 0, 0),   -- 14:00-15:00 stays open -> sched.opening.today
  (3, '2026-03-05', '08:00:00', '12:00:00', 1, 2, 0, 0),
  (4, '2026-03-06', '08:00:00', '12:00:00', 1, 1, 0, 0),
  (5, '2026-03-09', '08:00:00', '12:00:00', 1, 1, 0, 0),   -- first Monday after the spring DST change
  (6, '2026-03-05', '13:00:00', '14:00:00', 2, 0, 0, 0),   -- blockout
  (7, '2026-05-25', '00:00:00', '00:00:00', 0, 0, 2, 0),   -- Memorial Day holiday
  (8, '2026-03-05', '08:00:00', '12:00:00', 1, 3, 0, 0),   -- hidden provider: left out
  (9, '2026-03-10', '13:00:00', '17:00:00', 1, 2, 0, 0),   -- no scheduleop: the hygienist's chair (2)
  (10, '2026-03-10', '08:00:00', '12:00:00', 1, 1, 0, 0),  -- no scheduleop: chair 1 (ProvDentist) and 3 (unassigned)
  (11, '2026-07-03', '00:00:00', '00:00:00', 0, 0, 2, 2),  -- the second clinic's own holiday
  (12, '2026-12-24', '00:00:00', '00:00:00', 0, 0, 2, 1);  -- the first clinic's
INSERT INTO scheduleop (ScheduleNum, OperatoryNum) VALUES (1, 1), (2, 1), (3, 2), (4, 1), (5, 3), (6, 1), (8, 4);

INSERT INTO patient (PatNum, LName, FName, PatStatus, Birthdate, Guarantor, PriProv, ClinicNum, HasIns,
                     PreferContactMethod, Bal_0_30, Bal_31_60, Bal_61_90, BalOver90) VALUES
  (1, 'Vale', 'Iris', 0, '1980-01-02', 1, 1, 1, 'I', 4, 0, 0, 0, 0),
  (2, 'Vale', 'Otto', 0, '2016-06-30', 1, 1, 1, 'I', 0, 0, 0, 0, 0),
  (3, 'Finch', 'Nora', 0, '1975-04-11', 3, 1, 1, '', 8, 0, 0, 0, 0),
  (4, 'Park', 'Lena', 0, '1990-09-09', 4, 1, 1, '', 4, 0, 0, 0, 0),
  (5, 'Shah', 'Ravi', 0, '1968-02-14', 5, 1, 1, '', 5, 0, 0, 0, 0),
  (6, 'Cole', 'Maya', 0, '1985-12-01', 6, 1, 1, 'I', 4, 0, 0, 0, 0),
  (7, 'Reyes', 'Tom', 0, '1979-07-07', 7, 1, 1, '', 4, 0, 0, 0, 0),
  (8, 'Diaz', 'Ana', 0, '1992-03-03', 8, 1, 1, '', 4, 0, 0, 0, 0),
  (9, 'Ortiz', 'Sam', 0, '1970-05-05', 9, 1, 1, '', 4, 0, 0, 0, 0),
  (10, 'Lee', 'Kim', 0, '1988-08-08', 10, 1, 1, '', 4, 0, 0, 0, 0),
  (11, 'Brown', 'Eli', 0, '1960-10-10', 11, 1, 1, '', 4, 0, 0, 0, 0),
  (12, 'Gray', 'Zoe', 0, '1983-11-11', 12, 1, 1, 'I', 4, 0, 0, 0, 0),
  (13, 'Hart', 'Ben', 0, '1977-01-30', 13, 1, 1, 'I', 4, 0, 0, 0, 0),
  (14, 'Moss', 'Ivy', 0, '1995-06-06', 14, 1, 1, 'I', 4, 0, 0, 0, 0),
  (15, 'King', 'Leo', 0, '1966-03-21', 15, 2, 1, '', 4, 0, 0, 0, 0),
  (16, 'Ford', 'Mia', 2, '1999-09-19', 16, 2, 1, '', 4, 0, 0, 0, 0),
  (17, 'Wells', 'Jon', 0, '1972-02-02', 17, 1, 1, '', 4, 0, 0, 0, 0),
  (18, 'Quinn', 'Ada', 0, '1958-04-04', 18, 1, 1, '', 7, 40, 0, 120, 0),   -- -> billing.balance.aging
  (19, 'Eted', 'Del', 4, '1980-01-01', 19, 1, 1, '', 4, 0, 0, 0, 0),        -- PatStatus Deleted: left out
  (20, 'Hill', 'Cara', 0, '1991-01-15', 20, 1, 2, '', 4, 0, 0, 0, 0),       -- second clinic
  (21, 'Plan', 'Pat', 0, '1987-07-17', 21, 1, 1, '', 4, 0, 0, 0, 0),
  (22, 'Bell', 'Hugo', 0, '1964-12-12', 22, 2, 1, '', 4, 0, 0, 0, 0),
  (23, 'Back', 'Fay', 0, '1955-05-25', 23, 1, 1, '', 1, 0, 0, 0, 0),        -- DoNotCall
  (24, 'Nye', 'Rosa', 0, '1981-04-14', 24, 1, 1, '', 4, 0, 0, 0, 0),
  (25, 'Ames', 'Tara', 0, '1993-10-03', 25, 1, 1, '', 5, 0, 0, 0, 0);       -- prefers email, opted out of it
UPDATE patient SET BalTotal = 160 WHERE PatNum = 18;

-- Appointments. Pattern: one character per 5 minutes.
INSERT INTO appointment (AptNum, PatNum, AptStatus, Pattern, Confirmed, Op, ProvNum, ProvHyg, AptDateTime, IsHygiene,
                         ClinicNum, Priority, SecDateTEntry) VALUES
  (10, 1, 1, 'XXXXXXXXXXXX', 28, 1, 1, 0, '2026-03-05 13:00:00', 0, 1, 0, '2026-02-01 09:00:00'),
  (11, 2, 1, 'XXXXXXXXXXXXXXXXXXXXXXXX', 28, 1, 1, 0, '2026-03-05 15:00:00', 0, 1, 0, '2026-02-01 09:05:00'),
  (12, 22, 2, '//XXXXXXXX//', 26, 2, 1, 2, '2026-03-05 08:00:00', 1, 1, 0, '2025-09-05 10:00:00'),  -- -> recall.left_without_next_visit
  (13, 3, 1, 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX', 22, 1, 1, 0, '2026-03-06 08:00:00', 0, 1, 0,
   '2026-02-10 11:00:00'),                                                   -- -> sched.unconfirmed.24h
  (14, 4, 1, 'XXXXXXXXXXXX', 23, 1, 1, 0, '2026-03-06 14:00:00', 0, 1, 0, '2026-02-11 11:00:00'),  -- -> sched.unconfirmed.72h
  (15, 5, 1, 'XXXXXXXXXXXX', 28, 1, 1, 0, '2026-03-06 15:00:00', 0, 1, 0, '2026-02-11 12:00:00'),  -- eConfirmed: no task
  (16, 6, 1, 'XXXXXXXXXXXX', 28, 1, 1, 0, '2026-03-20 10:00:00', 0, 1, 1, '2026-02-12 12:00:00'),  -- Priority ASAP
  (17, 7, 5, 'XXXXXXXXXXXX', 22, 1, 1, 0, '2026-03-02 10:00:00', 0, 1, 0, '2026-02-01 12:00:00'),  -- missed -> sched.broken.not_rescheduled
  (18, 8, 5, 'XXXXXXXXXXXX', 22, 1, 1, 0, '2026-03-03 09:00:00', 0, 1, 0, '2026-02-01 12:30:00'),  -- cancelled (D9987 only)
  (19, 19, 1, 'XXXXXXXXXXXX', 22, 2, 1, 0, '2026-03-06 09:00:00', 0, 1, 0, '2026-02-01 13:00:00'), -- deleted patient
  (20, 20, 1, 'XXXXXXXXXXXX', 28, 3, 1, 0, '2026-03-09 09:00:00', 0, 2, 0, '2026-02-20 13:00:00'), -- clinic 2, after DST
  (21, 21, 6, 'XXXXXXXXXXXX', 0, 0, 1, 0, '0001-01-01 00:00:00', 0, 1, 0, '2026-02-20 10:00:00'),  -- -> tx.planned_appt.not_scheduled
  (22, 11, 1, 'XXXXXXXXXXXX', 24, 1, 1, 0, '2026-03-10 09:00:00', 0, 1, 0, '2026-03-01 09:00:00'), -- procedure 110 moved here; "Confirmed" by hand
  (23, 11, 3, 'XXXXXXXXXXXX', 22, 1, 1, 0, '2026-02-10 09:00:00', 0, 1, 0, '2026-02-01 09:00:00'), -- unscheduled list; held 110 before
  (24, 23, 1, 'XXXXXXXXXXXX', 28, 1, 1, 0, '2026-11-01 01:30:00', 0, 1, 0, '2026-03-01 10:00:00'), -- ambiguous hour (DST ends)
  (25, 6, 7, '', 0, 0, 0, 0, '2026-03-01 00:00:00', 0, 1, 0, '2026-03-01 08:00:00'),               -- patient note: left out
  (26, 24, 6, 'XXXXXXXXXXXX', 0, 0, 1, 0, '0001-01-01 00:00:00', 0, 1, 0, '2026-02-15 10:00:00'),  -- planned, then booked as 27
  (27, 24, 1, 'XXXXXXXXXXXX', 28, 1, 1, 0, '2026-03-12 10:00:00', 0, 1, 0, '2026-02-16 10:00:00'),
  (28, 1, 1, 'XXXXXX', 28, 3, 1, 0, '2026-03-09 11:00:00', 0, 2, 0, '2026-03-01 11:00:00');        -- patient of clinic 1 at clinic 2
UPDATE appointment SET NextAptNum = 26 WHERE AptNum = 27;
UPDATE appointment SET DateTimeArrived = '2026-03-05 07:55:00', DateTimeDismissed = '2026-03-05 09:00:00' WHERE AptNum = 12;
-- Open Dental writes midnight of the visit's day when the patient has not arrived
UPDATE appointment SET DateTimeArrived = '2026-03-05 00:00:00' WHERE AptNum IN (10, 11);

-- History: HistApptAction 2 = Missed, 3 = Cancelled. HistDateTStamp is a local DATETIME, not a TIMESTAMP.
INSERT INTO histappointment (HistUserNum, HistDateTStamp, HistApptAction, AptNum, PatNum, AptStatus, AptDateTime) VALUES
  (3, '2026-03-02 10:20:00', 2, 17, 7, 5, '2026-03-02 10:00:00');

INSERT INTO procedurecode (CodeNum, ProcCode, Descript, AbbrDesc) VALUES
  (1, 'D0120', 'periodic oral evaluation', 'PerEx'), (2, 'D1110', 'prophylaxis - adult', 'Pro'),
  (3, 'D2740', 'crown - porcelain/ceramic', 'PFC'), (4, 'D2750', 'crown - porcelain fused to high noble', 'PFM'),
  (5, 'D2391', 'resin-based composite - one surface, posterior', 'C1'), (6, 'D2150', 'amalgam - two surfaces', 'A2'),
  (7, 'D2330', 'resin-based composite - one surface, anterior', 'CA1'), (8, 'D9986', 'missed appointment', 'Missed'),
  (9, 'D9987', 'cancelled appointment', 'Cancel');
-- ProcTime: one character per AppointmentTimeIncrement (10 minutes here); '' = no time set
UPDATE procedurecode SET ProcTime = '/XXXX/' WHERE CodeNum = 3;  -- the crown: 60 minutes
UPDATE procedurecode SET ProcTime = '//XX//' WHERE CodeNum = 2;  -- adult prophy: 60 minutes

-- ProcStatus 1 TP, 2 C, 3 EC, 6 D (deleted), 7 Cn, 8 TPi
INSERT INTO procedurelog (ProcNum, PatNum, AptNum, PlannedAptNum, ProcDate, ProcTime, ProcFee, ToothNum, ProcStatus,
                          ProvNum, ClinicNum, CodeNum, UnitQty, DateTP) VALUES
  (100, 9, 0, 0, '2026-03-02', '00:00:00', 1250, '3', 1, 1, 1, 3, 1, '2026-03-02'),
  (101, 17, 0, 0, '2026-02-25', '00:00:00', 1100, '14', 1, 1, 1, 4, 1, '2026-02-25'),
  (102, 10, 0, 0, '2026-03-01', '00:00:00', 180, '30', 1, 1, 1, 5, 1, '2026-03-01'),
  (103, 21, 0, 21, '2026-02-20', '00:00:00', 180, '19', 1, 1, 1, 5, 1, '2026-02-20'),   -- on the planned appointment
  (110, 11, 22, 0, '2026-02-01', '00:00:00', 180, '3', 1, 1, 1, 5, 1, '2026-02-01'),    -- moved from appointment 23 to 22
  (120, 12, 0, 0, '2026-02-10', '10:00:00', 1250, '19', 2, 1, 1, 3, 1, '2026-01-20'),
  (130, 13, 0, 0, '2026-01-20', '09:00:00', 115, '', 2, 2, 1, 2, 1, '2026-01-20'),
  (140, 14, 0, 0, '2026-03-02', '00:00:00', 240, '30', 2, 1, 1, 6, 1, '2026-02-20'),
  (141, 14, 0, 0, '2026-02-20', '00:00:00', 160, '8', 6, 1, 1, 7, 1, '2026-02-20'),     -- deleted: left out
  (142, 14, 0, 0, '2026-02-20', '00:00:00', 0, '2', 7, 1, 1, 7, 1, '2026-02-20'),       -- condition: left out
  (150, 7, 0, 0, '2026-03-02', '10:20:00', 0, '', 2, 1, 1, 8, 1, '0001-01-01'),        -- D9986 missed
  (151, 8, 0, 0, '2026-03-03', '08:10:00', 0, '', 2, 1, 1, 9, 1, '0001-01-01'),        -- D9987 cancelled
  (160, 22, 12, 0, '2026-03-05', '08:00:00', 115, '', 2, 2, 1, 2, 1, '2026-03-05'),
  (170, 1, 0, 0, '2019-05-05', '00:00:00', 900, '30', 3, 1, 1, 3, 1, '2019-05-05'),     -- existing (EC)
  (171, 10, 0, 0, '2025-10-01', '00:00:00', 180, '31', 8, 1, 1, 5, 1, '2025-10-01'),    -- TPi: left out
  (121, 6, 0, 0, '2026-03-02', '09:00:00', 180, '19', 2, 1, 1, 5, 1, '2026-03-02'),    -- "do not bill insurance"
  (122, 6, 0, 0, '2026-03-02', '09:30:00', 240, '30', 2, 1, 1, 6, 1, '2026-03-02'),    -- -> claims.completed_not_billed
  (123, 15, 0, 0, '2026-01-15', '09:00:00', 300, '', 2, 1, 1, 2, 1, '2026-01-15');

-- TPStatus 0 Saved, 1 Active, 2 Inactive
INSERT INTO treatplan (TreatPlanNum, PatNum, DateTP, Heading, TPStatus, UserNumPresenter, DateTSigned) VALUES
  (50, 9, '2026-03-02', 'Active Treatment Plan', 1, 0, '0001-01-01 00:00:00'),  -- -> tx.unscheduled.first_touch
  (51, 9, '2026-03-02', 'Crown', 0, 7, '0001-01-01 00:00:00'),                   -- saved = presented
  (52, 17, '2026-02-25', 'Active Treatment Plan', 1, 0, '0001-01-01 00:00:00'),
  (53, 17, '2026-02-25', 'Crown', 0, 7, '2026-02-25 15:10:00'),                  -- signed = accepted; called since
  (54, 10, '2026-03-01', 'Active Treatment Plan', 1, 0, '0001-01-01 00:00:00'),  -- never saved: draft
  (55, 10, '2025-10-01', 'Old plan', 2, 0, '0001-01-01 00:00:00');
INSERT INTO treatplanattach (TreatPlanNum, ProcNum) VALUES (50, 100), (52, 101), (54, 102), (55, 171);

-- ClaimStatus U W H I P S R; ClaimType P S PreAuth Other Cap
INSERT INTO claim (ClaimNum, PatNum, DateService, DateSent, ClaimStatus, DateReceived, ClaimFee, InsPayEst, InsPayAmt,
                   ClaimType, ClinicNum) VALUES
  (65, 20, '2026-02-02', '2026-02-03', 'R', '2026-02-20', 90, 70, 70, 'P', 1),          -- billed by clinic 1
  (66, 15, '2026-01-15', '2026-03-01', 'S', '0001-01-01', 300, 200, 0, 'P', 1),        -- resent 03-01 -> claims.outstanding.30d
  (60, 12, '2026-02-10', '2026-02-11', 'R', '2026-02-25', 1250, 800, 800, 'P', 1),
  (61, 12, '2026-02-10', '0001-01-01', 'H', '0001-01-01', 1250, 250, 0, 'S', 1),     -- -> claims.secondary_on_hold
  (62, 13, '2026-01-20', '2026-01-26', 'S', '0001-01-01', 115, 92, 0, 'P', 1),       -- -> claims.outstanding.30d
  (63, 14, '2026-03-02', '0001-01-01', 'U', '0001-01-01', 240, 192, 0, 'P', 1),      -- -> claims.created_not_sent
  (64, 14, '2026-03-02', '0001-01-01', 'U', '0001-01-01', 240, 0, 0, 'Cap', 1);      -- capitation: left out
INSERT INTO claimproc (ProcNum, ClaimNum, PatNum, Status, FeeBilled, InsPayEst, InsPayAmt) VALUES
  (120, 60, 12, 1, 1250, 800, 800), (120, 61, 12, 0, 1250, 250, 0), (130, 62, 13, 0, 115, 92, 0),
  (140, 63, 14, 0, 240, 192, 0), (140, 64, 14, 5, 240, 0, 0), (140, 0, 14, 6, 0, 0, 0),
  (123, 66, 15, 0, 300, 200, 0);
-- Status 6 = Estimate (no claim yet); NoBillIns 1 = "do not bill to this plan"
INSERT INTO claimproc (ProcNum, ClaimNum, PatNum, Status, FeeBilled, InsPayEst, NoBillIns) VALUES
  (121, 0, 6, 6, 0, 144, 1), (122, 0, 6, 6, 0, 192, 0);
UPDATE claim SET DateSentOrig = '2026-01-20' WHERE ClaimNum = 66;  -- the first send, before the resend
UPDATE claim SET PlanNum = 1, InsSubNum = 1 WHERE ClaimNum IN (60, 62, 63);
UPDATE claim SET PlanNum = 2, InsSubNum = 2 WHERE ClaimNum = 61;
INSERT INTO carrier (CarrierNum, CarrierName) VALUES (1, 'Delta Dental of Testland'), (2, 'Acme Mutual');
INSERT INTO insplan (PlanNum, CarrierNum) VALUES (1, 1), (2, 2);
INSERT INTO inssub (InsSubNum, PlanNum, Subscriber) VALUES (1, 1, 12), (2, 2, 12);
INSERT INTO patplan (PatNum, Ordinal, InsSubNum) VALUES (12, 1, 1), (12, 2, 2), (13, 1, 1), (14, 1, 1);

INSERT INTO recall (RecallNum, PatNum, RecallTypeNum, DateDue, DatePrevious, IsDisabled, DateScheduled) VALUES
  (200, 15, 1, '2026-02-01', '2025-08-01', 0, '0001-01-01'),   -- -> recall.overdue
  (201, 16, 1, '2026-01-15', '2025-07-15', 1, '0001-01-01'),   -- disabled: no task
  (202, 2, 2, '2026-03-20', '2025-09-20', 0, '2026-03-05'),    -- scheduled: appointment 11
  (203, 22, 1, '2026-09-05', '2026-03-05', 0, '0001-01-01'),
  (204, 6, 3, '2026-03-20', '2025-12-20', 0, '2026-03-20'),    -- perio, scheduled: appointment 16
  (205, 25, 1, '2026-02-01', '2025-08-01', 0, '0001-01-01'),   -- disabled until 2026-04-01
  (206, 18, 1, '2026-02-15', '2025-08-15', 0, '0001-01-01'),   -- disabled until the family owes under $100
  (207, 21, 5, '2026-01-10', '2025-01-10', 0, '0001-01-01'),   -- bitewings: not a type the recall list shows
  (208, 24, 1, '2026-06-01', '2025-12-01', 0, '0001-01-01');   -- ASAP: would take an earlier slot
UPDATE recall SET Priority = 1 WHERE RecallNum = 208;
UPDATE recall SET DisableUntilDate = '2026-04-01' WHERE RecallNum = 205;
UPDATE recall SET DisableUntilBalance = 100 WHERE RecallNum = 206;

-- Mode_ 1 Email 2 Mail 3 Phone 5 Text; SentOrReceived 1 Sent 2 Received; CommSource 3 ApptReminder
INSERT INTO commlog (CommlogNum, PatNum, CommDateTime, CommType, Note, Mode_, SentOrReceived, UserNum, CommSource) VALUES
  (300, 17, '2026-02-27 10:00:00', 36, 'Discussed crown', 3, 1, 7, 0),
  (301, 1, '2026-03-04 16:00:00', 31, 'Reminder', 5, 1, 0, 3),
  (302, 18, '2026-01-10 09:00:00', 33, 'Statement', 2, 1, 4, 0),
  (303, 5, '2026-03-04 11:00:00', 31, 'Patient confirmed by phone', 3, 2, 3, 0);

-- CommOptOutType flags: 1 All, 2 eConfirm. Patient 25 takes no email at all; patient 3 only no eConfirm texts.
INSERT INTO commoptout (PatNum, OptOutSms, OptOutEmail) VALUES (25, 0, 1), (3, 2, 0);
