-- A subset of Open Dental's schema: the tables and columns the opendental adapter reads,
-- with Open Dental's own names and MySQL types (keys bigint, enums tinyint, "no date"
-- 0001-01-01, change stamps TIMESTAMP ... ON UPDATE CURRENT_TIMESTAMP). Columns the
-- adapter does not read are mostly omitted.

CREATE TABLE preference (
  PrefNum bigint(20) NOT NULL AUTO_INCREMENT, PrefName varchar(255) NOT NULL DEFAULT '',
  ValueString text NOT NULL, Comments text, PRIMARY KEY (PrefNum)
);
CREATE TABLE clinic (
  ClinicNum bigint(20) NOT NULL AUTO_INCREMENT, Description varchar(255) NOT NULL DEFAULT '',
  Abbr varchar(255) NOT NULL DEFAULT '', IsHidden tinyint(4) NOT NULL DEFAULT 0, PRIMARY KEY (ClinicNum)
);
CREATE TABLE definition (
  DefNum bigint(20) NOT NULL AUTO_INCREMENT, Category tinyint(3) unsigned NOT NULL DEFAULT 0,
  ItemOrder smallint(5) unsigned NOT NULL DEFAULT 0, ItemName varchar(255) NOT NULL DEFAULT '',
  ItemValue varchar(255) NOT NULL DEFAULT '', ItemColor int(11) NOT NULL DEFAULT 0,
  IsHidden tinyint(3) unsigned NOT NULL DEFAULT 0, PRIMARY KEY (DefNum)
);
CREATE TABLE provider (
  ProvNum bigint(20) NOT NULL AUTO_INCREMENT, Abbr varchar(255) NOT NULL DEFAULT '',
  ItemOrder smallint(5) unsigned NOT NULL DEFAULT 0, LName varchar(100) NOT NULL DEFAULT '',
  FName varchar(100) NOT NULL DEFAULT '', MI varchar(100) NOT NULL DEFAULT '', Suffix varchar(100) NOT NULL DEFAULT '',
  Specialty bigint(20) NOT NULL DEFAULT 0, IsSecondary tinyint(3) unsigned NOT NULL DEFAULT 0,
  IsHidden tinyint(3) unsigned NOT NULL DEFAULT 0, ProvStatus tinyint(4) NOT NULL DEFAULT 0,
  DateTerm date NOT NULL DEFAULT '0001-01-01',
  DateTStamp timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, PRIMARY KEY (ProvNum)
);
CREATE TABLE operatory (
  OperatoryNum bigint(20) NOT NULL AUTO_INCREMENT, OpName varchar(255) NOT NULL DEFAULT '',
  Abbrev varchar(255) NOT NULL DEFAULT '', ItemOrder smallint(5) unsigned NOT NULL DEFAULT 0,
  IsHidden tinyint(3) unsigned NOT NULL DEFAULT 0, ProvDentist bigint(20) NOT NULL DEFAULT 0,
  ProvHygienist bigint(20) NOT NULL DEFAULT 0, IsHygiene tinyint(3) unsigned NOT NULL DEFAULT 0,
  ClinicNum bigint(20) NOT NULL DEFAULT 0, SetProspective tinyint(4) NOT NULL DEFAULT 0,
  DateTStamp timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  IsWebSched tinyint(4) NOT NULL DEFAULT 0, PRIMARY KEY (OperatoryNum)
);
CREATE TABLE schedule (
  ScheduleNum bigint(20) NOT NULL AUTO_INCREMENT, SchedDate date NOT NULL DEFAULT '0001-01-01',
  StartTime time NOT NULL DEFAULT '00:00:00', StopTime time NOT NULL DEFAULT '00:00:00',
  SchedType tinyint(4) NOT NULL DEFAULT 0, ProvNum bigint(20) NOT NULL DEFAULT 0,
  BlockoutType bigint(20) NOT NULL DEFAULT 0, Note text, Status tinyint(4) NOT NULL DEFAULT 0,
  EmployeeNum bigint(20) NOT NULL DEFAULT 0,
  DateTStamp timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  ClinicNum bigint(20) NOT NULL DEFAULT 0, PRIMARY KEY (ScheduleNum)
);
CREATE TABLE scheduleop (
  ScheduleOpNum bigint(20) NOT NULL AUTO_INCREMENT, ScheduleNum bigint(20) NOT NULL DEFAULT 0,
  OperatoryNum bigint(20) NOT NULL DEFAULT 0, PRIMARY KEY (ScheduleOpNum)
);
CREATE TABLE userod (
  UserNum bigint(20) NOT NULL AUTO_INCREMENT, UserName varchar(255) NOT NULL DEFAULT '',
  Password varchar(255) NOT NULL DEFAULT '', UserGroupNum bigint(20) NOT NULL DEFAULT 0,
  EmployeeNum bigint(20) NOT NULL DEFAULT 0, ClinicNum bigint(20) NOT NULL DEFAULT 0,
  ProvNum bigint(20) NOT NULL DEFAULT 0, IsHidden tinyint(4) NOT NULL DEFAULT 0,
  TaskListInBox bigint(20) NOT NULL DEFAULT 0, DateTLastLogin datetime NOT NULL DEFAULT '0001-01-01 00:00:00',
  PRIMARY KEY (UserNum)
);
CREATE TABLE usergroup (
  UserGroupNum bigint(20) NOT NULL AUTO_INCREMENT, Description varchar(255) NOT NULL DEFAULT '',
  UserGroupNumCEMT bigint(20) NOT NULL DEFAULT 0, PRIMARY KEY (UserGroupNum)
);
CREATE TABLE usergroupattach (
  UserGroupAttachNum bigint(20) NOT NULL AUTO_INCREMENT, UserNum bigint(20) NOT NULL DEFAULT 0,
  UserGroupNum bigint(20) NOT NULL DEFAULT 0, PRIMARY KEY (UserGroupAttachNum)
);
CREATE TABLE recalltype (
  RecallTypeNum bigint(20) NOT NULL AUTO_INCREMENT, Description varchar(255) NOT NULL DEFAULT '',
  DefaultInterval int(11) NOT NULL DEFAULT 0, TimePattern varchar(255) NOT NULL DEFAULT '',
  Procedures varchar(255) NOT NULL DEFAULT '', AppendToSpecial tinyint(4) NOT NULL DEFAULT 0,
  PRIMARY KEY (RecallTypeNum)
);
CREATE TABLE patient (
  PatNum bigint(20) NOT NULL AUTO_INCREMENT, LName varchar(100) NOT NULL DEFAULT '',
  FName varchar(100) NOT NULL DEFAULT '', MiddleI varchar(100) NOT NULL DEFAULT '',
  Preferred varchar(100) NOT NULL DEFAULT '', PatStatus tinyint(3) unsigned NOT NULL DEFAULT 0,
  Gender tinyint(3) unsigned NOT NULL DEFAULT 0, Birthdate date NOT NULL DEFAULT '0001-01-01',
  HmPhone varchar(30) NOT NULL DEFAULT '', WirelessPhone varchar(30) NOT NULL DEFAULT '',
  Email varchar(100) NOT NULL DEFAULT '', TxtMsgOk tinyint(4) NOT NULL DEFAULT 0,
  Guarantor bigint(20) NOT NULL DEFAULT 0, PriProv bigint(20) NOT NULL DEFAULT 0,
  SecProv bigint(20) NOT NULL DEFAULT 0, ClinicNum bigint(20) NOT NULL DEFAULT 0,
  HasIns varchar(255) NOT NULL DEFAULT '', BillingType bigint(20) NOT NULL DEFAULT 0,
  Bal_0_30 double NOT NULL DEFAULT 0, Bal_31_60 double NOT NULL DEFAULT 0, Bal_61_90 double NOT NULL DEFAULT 0,
  BalOver90 double NOT NULL DEFAULT 0, InsEst double NOT NULL DEFAULT 0, BalTotal double NOT NULL DEFAULT 0,
  EstBalance double NOT NULL DEFAULT 0, PreferConfirmMethod tinyint(4) NOT NULL DEFAULT 0,
  PreferContactMethod tinyint(4) NOT NULL DEFAULT 0, PreferRecallMethod tinyint(4) NOT NULL DEFAULT 0,
  DateFirstVisit date NOT NULL DEFAULT '0001-01-01', SecDateEntry date NOT NULL DEFAULT '0001-01-01',
  DateTStamp timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (PatNum), KEY Guarantor (Guarantor)
);
CREATE TABLE appointment (
  AptNum bigint(20) NOT NULL AUTO_INCREMENT, PatNum bigint(20) NOT NULL DEFAULT 0,
  AptStatus tinyint(3) unsigned NOT NULL DEFAULT 0, Pattern varchar(255) NOT NULL DEFAULT '',
  Confirmed bigint(20) NOT NULL DEFAULT 0, TimeLocked tinyint(4) NOT NULL DEFAULT 0,
  Op bigint(20) NOT NULL DEFAULT 0, Note text, ProvNum bigint(20) NOT NULL DEFAULT 0,
  ProvHyg bigint(20) NOT NULL DEFAULT 0, AptDateTime datetime NOT NULL DEFAULT '0001-01-01 00:00:00',
  NextAptNum bigint(20) NOT NULL DEFAULT 0, UnschedStatus bigint(20) NOT NULL DEFAULT 0,
  IsNewPatient tinyint(3) unsigned NOT NULL DEFAULT 0, ProcDescript text,
  Assistant bigint(20) NOT NULL DEFAULT 0, ClinicNum bigint(20) NOT NULL DEFAULT 0,
  IsHygiene tinyint(4) NOT NULL DEFAULT 0,
  DateTStamp timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  DateTimeArrived datetime NOT NULL DEFAULT '0001-01-01 00:00:00',
  DateTimeSeated datetime NOT NULL DEFAULT '0001-01-01 00:00:00',
  DateTimeDismissed datetime NOT NULL DEFAULT '0001-01-01 00:00:00',
  InsPlan1 bigint(20) NOT NULL DEFAULT 0, InsPlan2 bigint(20) NOT NULL DEFAULT 0,
  DateTimeAskedToArrive datetime NOT NULL DEFAULT '0001-01-01 00:00:00', ProcsColored text,
  ColorOverride int(11) NOT NULL DEFAULT 0, AppointmentTypeNum bigint(20) NOT NULL DEFAULT 0,
  SecUserNumEntry bigint(20) NOT NULL DEFAULT 0, SecDateTEntry datetime NOT NULL DEFAULT '0001-01-01 00:00:00',
  Priority tinyint(4) NOT NULL DEFAULT 0, ProvBarText varchar(60) NOT NULL DEFAULT '',
  PatternSecondary varchar(255) NOT NULL DEFAULT '', SecurityHash varchar(255) NOT NULL DEFAULT '',
  ItemOrderPlanned int(11) NOT NULL DEFAULT 0, IsMirrored tinyint(4) NOT NULL DEFAULT 0,
  PRIMARY KEY (AptNum), KEY PatNum (PatNum), KEY DateTStamp (DateTStamp)
);
CREATE TABLE histappointment (
  HistApptNum bigint(20) NOT NULL AUTO_INCREMENT, HistUserNum bigint(20) NOT NULL DEFAULT 0,
  HistDateTStamp timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, HistApptAction tinyint(4) NOT NULL DEFAULT 0,
  ApptSource tinyint(4) NOT NULL DEFAULT 0, AptNum bigint(20) NOT NULL DEFAULT 0,
  PatNum bigint(20) NOT NULL DEFAULT 0, AptStatus tinyint(3) unsigned NOT NULL DEFAULT 0,
  Pattern varchar(255) NOT NULL DEFAULT '', Confirmed bigint(20) NOT NULL DEFAULT 0,
  Op bigint(20) NOT NULL DEFAULT 0, ProvNum bigint(20) NOT NULL DEFAULT 0, ProvHyg bigint(20) NOT NULL DEFAULT 0,
  AptDateTime datetime NOT NULL DEFAULT '0001-01-01 00:00:00', ClinicNum bigint(20) NOT NULL DEFAULT 0,
  DateTStamp timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, Priority tinyint(4) NOT NULL DEFAULT 0,
  PRIMARY KEY (HistApptNum), KEY AptNum (AptNum)
);
CREATE TABLE procedurecode (
  CodeNum bigint(20) NOT NULL AUTO_INCREMENT, ProcCode varchar(15) NOT NULL DEFAULT '',
  Descript varchar(255) NOT NULL DEFAULT '', AbbrDesc varchar(50) NOT NULL DEFAULT '',
  ProcTime varchar(24) NOT NULL DEFAULT '', ProcCat bigint(20) NOT NULL DEFAULT 0,
  IsHygiene tinyint(3) unsigned NOT NULL DEFAULT 0,
  DateTStamp timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, PRIMARY KEY (CodeNum)
);
CREATE TABLE procedurelog (
  ProcNum bigint(20) NOT NULL AUTO_INCREMENT, PatNum bigint(20) NOT NULL DEFAULT 0,
  AptNum bigint(20) NOT NULL DEFAULT 0, OldCode varchar(15) NOT NULL DEFAULT '',
  ProcDate date NOT NULL DEFAULT '0001-01-01', ProcFee double NOT NULL DEFAULT 0,
  Surf varchar(10) NOT NULL DEFAULT '', ToothNum varchar(2) NOT NULL DEFAULT '',
  ToothRange varchar(100) NOT NULL DEFAULT '', Priority bigint(20) NOT NULL DEFAULT 0,
  ProcStatus tinyint(3) unsigned NOT NULL DEFAULT 0, ProvNum bigint(20) NOT NULL DEFAULT 0,
  Dx bigint(20) NOT NULL DEFAULT 0, PlannedAptNum bigint(20) NOT NULL DEFAULT 0,
  PlaceService tinyint(3) unsigned NOT NULL DEFAULT 0, ClinicNum bigint(20) NOT NULL DEFAULT 0,
  DateEntryC date NOT NULL DEFAULT '0001-01-01', CodeNum bigint(20) NOT NULL DEFAULT 0,
  UnitQty int(11) NOT NULL DEFAULT 0, BaseUnits int(11) NOT NULL DEFAULT 0,
  DateTStamp timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  ProcTime time NOT NULL DEFAULT '00:00:00', ProcTimeEnd time NOT NULL DEFAULT '00:00:00',
  DateTP date NOT NULL DEFAULT '0001-01-01', DateComplete date NOT NULL DEFAULT '0001-01-01',
  Discount double NOT NULL DEFAULT 0, Urgency tinyint(4) NOT NULL DEFAULT 0,
  PRIMARY KEY (ProcNum), KEY PatNum (PatNum), KEY AptNum (AptNum)
);
CREATE TABLE treatplan (
  TreatPlanNum bigint(20) NOT NULL AUTO_INCREMENT, PatNum bigint(20) NOT NULL DEFAULT 0,
  DateTP date NOT NULL DEFAULT '0001-01-01', Heading varchar(255) NOT NULL DEFAULT '', Note text,
  Signature text, SigIsTopaz tinyint(4) NOT NULL DEFAULT 0, ResponsParty bigint(20) NOT NULL DEFAULT 0,
  DocNum bigint(20) NOT NULL DEFAULT 0, TPStatus tinyint(4) NOT NULL DEFAULT 0,
  SecUserNumEntry bigint(20) NOT NULL DEFAULT 0, SecDateEntry date NOT NULL DEFAULT '0001-01-01',
  SecDateTEdit timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  UserNumPresenter bigint(20) NOT NULL DEFAULT 0, TPType tinyint(4) NOT NULL DEFAULT 0,
  SignaturePractice text, DateTSigned datetime NOT NULL DEFAULT '0001-01-01 00:00:00',
  DateTPracticeSigned datetime NOT NULL DEFAULT '0001-01-01 00:00:00',
  SignatureText varchar(255) NOT NULL DEFAULT '', PRIMARY KEY (TreatPlanNum), KEY PatNum (PatNum)
);
CREATE TABLE treatplanattach (
  TreatPlanAttachNum bigint(20) NOT NULL AUTO_INCREMENT, TreatPlanNum bigint(20) NOT NULL DEFAULT 0,
  ProcNum bigint(20) NOT NULL DEFAULT 0, Priority bigint(20) NOT NULL DEFAULT 0,
  PRIMARY KEY (TreatPlanAttachNum), KEY TreatPlanNum (TreatPlanNum)
);
CREATE TABLE claim (
  ClaimNum bigint(20) NOT NULL AUTO_INCREMENT, PatNum bigint(20) NOT NULL DEFAULT 0,
  DateService date NOT NULL DEFAULT '0001-01-01', DateSent date NOT NULL DEFAULT '0001-01-01',
  ClaimStatus char(1) NOT NULL DEFAULT '', DateReceived date NOT NULL DEFAULT '0001-01-01',
  PlanNum bigint(20) NOT NULL DEFAULT 0, ProvTreat bigint(20) NOT NULL DEFAULT 0,
  ClaimFee double NOT NULL DEFAULT 0, InsPayEst double NOT NULL DEFAULT 0, InsPayAmt double NOT NULL DEFAULT 0,
  DedApplied double NOT NULL DEFAULT 0, PreAuthString varchar(40) NOT NULL DEFAULT '',
  ProvBill bigint(20) NOT NULL DEFAULT 0, ClaimType varchar(255) NOT NULL DEFAULT '',
  ClinicNum bigint(20) NOT NULL DEFAULT 0, CustomTracking bigint(20) NOT NULL DEFAULT 0,
  InsSubNum bigint(20) NOT NULL DEFAULT 0, DateSentOrig date NOT NULL DEFAULT '0001-01-01',
  DateResent date NOT NULL DEFAULT '0001-01-01', SecUserNumEntry bigint(20) NOT NULL DEFAULT 0,
  SecDateEntry date NOT NULL DEFAULT '0001-01-01',
  SecDateTEdit timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (ClaimNum), KEY PatNum (PatNum)
);
CREATE TABLE claimproc (
  ClaimProcNum bigint(20) NOT NULL AUTO_INCREMENT, ProcNum bigint(20) NOT NULL DEFAULT 0,
  ClaimNum bigint(20) NOT NULL DEFAULT 0, PatNum bigint(20) NOT NULL DEFAULT 0,
  ProvNum bigint(20) NOT NULL DEFAULT 0, FeeBilled double NOT NULL DEFAULT 0, InsPayEst double NOT NULL DEFAULT 0,
  DedApplied double NOT NULL DEFAULT 0, Status tinyint(3) unsigned NOT NULL DEFAULT 0,
  InsPayAmt double NOT NULL DEFAULT 0, Remarks varchar(255) NOT NULL DEFAULT '',
  ClaimPaymentNum bigint(20) NOT NULL DEFAULT 0, PlanNum bigint(20) NOT NULL DEFAULT 0,
  DateCP date NOT NULL DEFAULT '0001-01-01', WriteOff double NOT NULL DEFAULT 0,
  ProcDate date NOT NULL DEFAULT '0001-01-01', DateEntry date NOT NULL DEFAULT '0001-01-01',
  InsSubNum bigint(20) NOT NULL DEFAULT 0, ClinicNum bigint(20) NOT NULL DEFAULT 0,
  SecDateTEdit timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (ClaimProcNum), KEY ClaimNum (ClaimNum), KEY PatNum (PatNum)
);
CREATE TABLE recall (
  RecallNum bigint(20) NOT NULL AUTO_INCREMENT, PatNum bigint(20) NOT NULL DEFAULT 0,
  DateDueCalc date NOT NULL DEFAULT '0001-01-01', DateDue date NOT NULL DEFAULT '0001-01-01',
  DatePrevious date NOT NULL DEFAULT '0001-01-01', RecallInterval int(11) NOT NULL DEFAULT 0,
  RecallStatus bigint(20) NOT NULL DEFAULT 0, Note text, IsDisabled tinyint(3) unsigned NOT NULL DEFAULT 0,
  DateTStamp timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  RecallTypeNum bigint(20) NOT NULL DEFAULT 0, DisableUntilBalance double NOT NULL DEFAULT 0,
  DisableUntilDate date NOT NULL DEFAULT '0001-01-01', DateScheduled date NOT NULL DEFAULT '0001-01-01',
  Priority tinyint(4) NOT NULL DEFAULT 0, PRIMARY KEY (RecallNum), KEY PatNum (PatNum)
);
CREATE TABLE commlog (
  CommlogNum bigint(20) NOT NULL AUTO_INCREMENT, PatNum bigint(20) NOT NULL DEFAULT 0,
  CommDateTime datetime NOT NULL DEFAULT '0001-01-01 00:00:00', CommType bigint(20) NOT NULL DEFAULT 0,
  Note text, Mode_ tinyint(3) unsigned NOT NULL DEFAULT 0, SentOrReceived tinyint(3) unsigned NOT NULL DEFAULT 0,
  UserNum bigint(20) NOT NULL DEFAULT 0, Signature text, SigIsTopaz tinyint(4) NOT NULL DEFAULT 0,
  DateTStamp timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  DateTimeEnd datetime NOT NULL DEFAULT '0001-01-01 00:00:00', CommSource tinyint(4) NOT NULL DEFAULT 0,
  ProgramNum bigint(20) NOT NULL DEFAULT 0, DateTEntry datetime NOT NULL DEFAULT '0001-01-01 00:00:00',
  PRIMARY KEY (CommlogNum), KEY PatNum (PatNum)
);
