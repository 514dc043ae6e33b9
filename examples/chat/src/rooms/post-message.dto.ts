import { IsString, Length } from 'class-validator';

export class PostMessageDto {
  @IsString()
  @Length(1, 500)
  text!: string;
}
