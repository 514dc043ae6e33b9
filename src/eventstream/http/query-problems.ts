import { type ValidationArguments, validateSync } from 'class-validator';
import { InvalidChannelError, InvalidQueryError } from '../errors/eventstream.errors';

/** A validation message's list of names (the value is an array of them). */
export const listed = ({ value }: ValidationArguments) => (value as string[]).join(', ');

/**
 * Validates a channel query and throws what a client gets back: a problem
 * with its `channel` as InvalidChannelError, any other as InvalidQueryError.
 */
export function assertValidChannelQuery(query: { readonly channel?: string }): void {
  const problems = validateSync(query);
  const channelProblem = problems.find((p) => p.property === 'channel');
  if (channelProblem) {
    throw new InvalidChannelError(
      query.channel,
      Object.values(channelProblem.constraints ?? {})[0],
    );
  }
  if (problems.length > 0) {
    throw new InvalidQueryError(
      problems.flatMap((p) => Object.values(p.constraints ?? {})).join('; '),
    );
  }
}
