export { backupApplication, backupPartition } from './backup';
export { restoreApplication, restorePartition } from './restore';
export { progressQuery } from './run-state';
export { drillApplication } from './drill';
export { verifyRepository } from './verify';
export { adaptSchedules, intervalChangesQuery } from './adaptive';
export { captureStream, captureStatusQuery, stopCaptureSignal } from './capture';
export { restoreToPointInTime } from './point-restore';
export { checkpointGroup, stopCheckpointsSignal } from './checkpoints';
