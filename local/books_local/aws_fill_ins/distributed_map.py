"""The Distributed Map's failure threshold and Map Run counts, as Step Functions documents them.

moto runs a Distributed Map's children but lets a Map Run with failed children succeed, whatever the
threshold. "Tolerated failure threshold for Distributed Map state"
(https://docs.aws.amazon.com/step-functions/latest/dg/maprun-fail-threshold.html): the tolerated percentage
and count default to zero, "which means the workflow fails if any one of its child workflow executions fails
or times out"; the Map Run then fails with ``States.ExceedToleratedFailureThreshold``. Step Functions "can
continue to run child workflows in a Map Run even after the tolerated failure threshold is exceeded, but
before the Map Run fails": here the children that were started finish, then the Map Run fails.

moto also counts an item into ``total`` only when its child starts (so DescribeMapRun's total grows while the
run goes on, and a progress bar's ETA is wrong) and never takes failed children out of ``running``. Here the
Map Run knows its items when it starts (``total``; ``pending`` until a child takes an item), and each child
moves its item from ``pending`` to ``running`` to ``succeeded``, ``failed``, ``timedOut`` or ``aborted``
(DescribeMapRun, https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html).
"""

from __future__ import annotations

from typing import Any

THRESHOLD_ERROR = "States.ExceedToleratedFailureThreshold"


def exceeds_threshold(failed: int, total: int, tolerated_count: int, tolerated_percentage: float) -> bool:
    """Whether ``failed`` (failed or timed-out) items of ``total`` exceed either tolerated value."""
    if failed > tolerated_count:
        return True
    return total > 0 and failed * 100.0 / total > tolerated_percentage


def install() -> None:
    from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component as iteration,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
        distributed_item_processor_worker as workers,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramError, ProgramStopped
    from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData

    original_map_run = iteration.DistributedIterationComponent._map_run

    def _map_run(self: Any, env: Any, eval_input: Any) -> None:
        items = env.stack[-1]
        record = eval_input.map_run_record
        for counter in (record.item_counter, record.execution_counter):
            counter.total.count(len(items))
            counter.pending.count(len(items))
        original_map_run(self, env, eval_input)
        counts = record.item_counter
        failed = counts.failed.get() + counts.timed_out.get()
        if exceeds_threshold(
            failed, len(items), eval_input.tolerated_failure_count, eval_input.tolerated_failure_percentage
        ):
            cause = (
                f"The specified tolerated failure threshold was exceeded: {failed} of {len(items)} items "
                f"failed or timed out (tolerated: {eval_input.tolerated_failure_count} items, "
                f"{eval_input.tolerated_failure_percentage}%)"
            )
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold),
                    event_type=HistoryEventType.MapRunFailed,
                    event_details=EventDetails(
                        mapRunFailedEventDetails=MapRunFailedEventDetails(error=THRESHOLD_ERROR, cause=cause)
                    ),
                )
            )

    def _eval_job(self: Any, env: Any, job: Any) -> None:
        record = self._map_run_record
        counters = (record.item_counter, record.execution_counter)
        for counter in counters:
            counter.pending.offset(-1)
            counter.running.count()
        outcome, job_output = "failed", None
        try:
            env.states.context_object.context_object_data["Map"] = MapData(
                Item=ItemData(Index=job.job_index, Value=job.job_input)
            )
            env.states.reset(job.job_input)
            env.stack.append(env.states.get_input())
            self._eval_input(env_frame=env)
            job.job_program.eval(env)
            end = env.program_state()
            if isinstance(end, ProgramError):
                outcome = "failed"
            elif isinstance(end, ProgramStopped):
                outcome = "aborted"
            else:
                outcome, job_output = "succeeded", env.states.get_input()
        except EvalTimeoutError:
            outcome = "timed_out"
        except Exception:  # a failure event or any other error fails this item only
            outcome = "failed"
        finally:
            for counter in counters:
                counter.running.offset(-1)
                getattr(counter, outcome).count()
                if outcome == "succeeded":
                    counter.results_written.count()
            job.job_output = job_output

    iteration.DistributedIterationComponent._map_run = _map_run
    workers.DistributedItemProcessorWorker._eval_job = _eval_job
